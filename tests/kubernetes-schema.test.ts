import * as assert from "assert";
import { declaredObjectProblems, KUBERNETES_SCHEMA_VERSION, modelFor, schemaProblems } from "./harness/kubernetes-schema";
import { kubernetesObjects, ProgramRun, reveal, runStack } from "./harness/program";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const SCALE_SET_CHART = "gha-runner-scale-set";

/**
 * Constraints the gha-runner-scale-set chart (and the ARC controller behind it) puts on its values,
 * as far as they can be checked without rendering the chart; one line per violation.
 */
function scaleSetValuesProblems(name: string, values: any): string[] {
    const problems: string[] = [];
    const scaleSetName: string = values.runnerScaleSetName ?? name;
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(scaleSetName) || scaleSetName.length > 45) {
        problems.push(`runnerScaleSetName ${JSON.stringify(scaleSetName)}: the chart requires a DNS label of at most 45 characters`);
    }
    if (typeof values.githubConfigUrl !== "string" || !/^https:\/\/\S+$/.test(values.githubConfigUrl)) {
        problems.push(`githubConfigUrl ${JSON.stringify(values.githubConfigUrl)}: required, an https URL of the organization or repository`);
    }
    const secret = values.githubConfigSecret;
    if (
        !(typeof secret === "string" && secret.length > 0) &&
        !(typeof secret === "object" && secret !== null && (secret.github_token || secret.github_app_id))
    ) {
        problems.push("githubConfigSecret: required, the name of an existing Secret (or GitHub credentials)");
    }
    for (const key of ["minRunners", "maxRunners"]) {
        if (values[key] !== undefined && !(Number.isInteger(values[key]) && values[key] >= 0)) {
            problems.push(`${key} ${JSON.stringify(values[key])}: a whole number of at least 0`);
        }
    }
    if (Number.isInteger(values.minRunners) && Number.isInteger(values.maxRunners) && values.maxRunners < values.minRunners) {
        problems.push("maxRunners: has to be greater or equal to minRunners");
    }
    if (values.containerMode !== undefined) {
        problems.push("containerMode: must be absent (no Docker-in-Docker, no kubernetes mode; runners build through BuildKit)");
    }
    const account = values.controllerServiceAccount;
    if (!account?.name || !account?.namespace) {
        problems.push("controllerServiceAccount: name and namespace of the ARC controller's service account are required");
    }
    const spec = values.template?.spec;
    if (!spec) {
        problems.push("template.spec: the runner pod spec is required");
    } else {
        if (!(spec.containers ?? []).some((c: any) => c.name === "runner")) {
            problems.push("template.spec.containers: the chart expects a container named runner");
        }
        problems.push(...schemaProblems(modelFor("kubernetes:core/v1:PodSpec"), spec).map((p) => `template.spec: ${p}`));
    }
    return problems;
}

for (const stack of ["local", "aks"]) {
    describe(`Kubernetes ${KUBERNETES_SCHEMA_VERSION} schemas: every object the ${stack} stack declares`, () => {
        let run: ProgramRun;
        before(async () => {
            run = await runStack(stack);
        });

        it("validates each declared Kubernetes object", () => {
            const objects = kubernetesObjects(run);
            assert.ok(objects.length >= 10, `expected the full set of objects, got ${objects.length}`);
            const problems = objects.flatMap((r) => declaredObjectProblems(r.type, reveal(r.inputs)).map((p) => `${r.type} ${r.name}: ${p}`));
            assert.deepStrictEqual(problems, []);
        });

        it("checks the Helm values of every ARC scale set against the chart's constraints", () => {
            const releases = run.resources.filter((r) => r.type === RELEASE).map((r) => ({ name: r.name, inputs: reveal(r.inputs) }));
            const scaleSets = releases.filter(
                (r) =>
                    String(r.inputs.chart ?? "")
                        .split("/")
                        .pop() === SCALE_SET_CHART,
            );
            const problems = scaleSets.flatMap((r) => scaleSetValuesProblems(r.name, r.inputs.values ?? {}).map((p) => `${r.name}: ${p}`));
            assert.deepStrictEqual(problems, []);
            assert.ok(scaleSets.length >= 1, `checked ${scaleSets.length} scale set release(s)`);
        });
    });
}

describe("the schema check fails on invalid objects", () => {
    let statefulSet: any;
    before(async () => {
        const run = await runStack("local");
        statefulSet = reveal(run.resources.find((r) => r.type === "kubernetes:apps/v1:StatefulSet")!.inputs);
    });
    const problemsWith = (change: (o: any) => void) => {
        const copy = JSON.parse(JSON.stringify(statefulSet));
        change(copy);
        return declaredObjectProblems("kubernetes:apps/v1:StatefulSet", copy);
    };

    it("accepts the declared StatefulSet unchanged", () => {
        assert.deepStrictEqual(
            problemsWith(() => {}),
            [],
        );
    });
    it("rejects a wrong type", () => {
        assert.match(problemsWith((o) => (o.spec.replicas = "one")).join("\n"), /replicas must be integer/);
    });
    it("rejects a missing required field", () => {
        assert.match(problemsWith((o) => delete o.spec.template.spec.containers[0].name).join("\n"), /containers\/0 must have required property name/);
    });
    it("rejects a value outside an enum", () => {
        assert.match(problemsWith((o) => (o.spec.podManagementPolicy = "Sequential")).join("\n"), /podManagementPolicy/);
    });
    it("rejects a misspelled field, however deep", () => {
        assert.deepStrictEqual(
            problemsWith((o) => (o.spec.replicaz = 1)),
            ["/spec/replicaz: unknown field"],
        );
        assert.deepStrictEqual(
            problemsWith((o) => (o.spec.template.spec.containers[0].volumeMount = [])),
            ["/spec/template/spec/containers/0/volumeMount: unknown field"],
        );
    });
    it("rejects apiVersion/kind that do not match the type", () => {
        assert.match(problemsWith((o) => (o.apiVersion = "apps/v1beta1")).join("\n"), /do not match apps\/v1\/StatefulSet/);
    });
    it("accepts free-form maps such as labels", () => {
        assert.deepStrictEqual(
            problemsWith((o) => (o.metadata.labels["example.com/anything"] = "x")),
            [],
        );
    });
});
