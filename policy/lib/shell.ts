import { Language, Node, Parser, Tree } from "web-tree-sitter";
import { UNKNOWN, Unknown, isUnknown } from "./plain";

/**
 * A small, bounded model of how a container's command line runs: Kubernetes `$(VAR)` expansion, then
 * (for `sh -c` scripts and script files) the shell. Scripts are parsed by tree-sitter-bash (the
 * tree-sitter project's Bash grammar, run as WebAssembly by web-tree-sitter); this file interprets its
 * syntax tree to answer one question: which programs end up running, with which arguments and
 * environment, and which files the script writes on the way (heredocs, echo/printf redirected). It
 * follows variables, exports, per-command assignments, `${VAR:-default}`-style expansions, positional
 * parameters, functions, `eval`, `.`/`source`, nested `sh -c` and wrappers such as `exec`, `tini --` or
 * `rootlesskit`. Anything it cannot know (command substitution output, `read`, unknown values, pattern
 * operators such as `${VAR%pat}`) becomes UNKNOWN instead of a guess.
 *
 * Conditions are not evaluated: every branch of `if`/`case` and every loop body is read once, in the
 * order written (a `for` loop once per listed item), so a daemon started on any path is seen.
 *
 * The grammar is Bash's, a superset of POSIX sh: a script that only Bash accepts (arrays, `[[ ]]`,
 * `$'...'`, `function f`, `<<<`, `&>`) is read the way Bash runs it, even under `sh` (dash), where it
 * would fail or, for `cmd &> file`, run `cmd` in the background and truncate `file`. Either way a
 * daemon it starts is a daemon the pack sees.
 */

/** Marks an unknown part inside a string; a word containing it is UNKNOWN. */
export const UNKNOWN_MARK = "\u0000?\u0000";

export type EnvValue = string | Unknown;
export type Env = Map<string, EnvValue>;

export interface Invocation {
    /** Basename of the program, e.g. `buildkitd`. */
    program: string;
    args: (string | Unknown)[];
    /** The environment the program sees (exported variables and per-command assignments). */
    env: Env;
}

export interface Interpretation {
    invocations: Invocation[];
    /** Files the script writes (heredocs, echo/printf redirected), by path. */
    files: Map<string, string>;
    /**
     * Script files the command runs that could not be read (not mounted from an object in view), and
     * scripts that could not be parsed in full (a syntax error, or over the parse budget).
     */
    unreadScripts: string[];
}

export type FileReader = (path: string) => { text: string; source?: string } | { unreadable: string } | undefined;

/**
 * Bounds on one interpretation (one container command line or hook): nesting of scripts run by scripts
 * (`sh -c`, `eval`, `.`, script files), commands run, characters of one script, words produced, syntax
 * nodes read, syntax nesting followed, characters parsed in all, and parse work: 8,000 progress steps
 * of 100 parser operations each (about 0.9 s on the slowest input seen, broken heredocs in 256 KB; a
 * 256 KB script of plain commands takes about 5,000), with 1 s of CPU per parse as a backstop. Between interpretations, parsed trees of
 * at most `cachedChars` characters of script are kept (a 256 KB adversarial script's tree takes up to
 * about 90 MB of WebAssembly memory).
 */
const LIMITS = {
    depth: 4,
    commands: 5_000,
    scriptChars: 256_000,
    words: 20_000,
    nodes: 20_000,
    nesting: 200,
    parsedChars: 1_024_000,
    parseSteps: 8_000,
    parseCpuMs: 1_000,
    cachedChars: 256_000,
};

/** Longest value a `$(VAR)` expansion may produce before it is treated as unknown. */
export const MAX_EXPANDED = 65_536;

const SHELLS = new Set(["sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"]);

/** rootlesskit's flags that take their value as the next word (`--net slirp4netns`); the rest are `--name=value` or booleans. */
const ROOTLESSKIT_VALUED = new Set(
    (
        "--net --mtu --cidr --port-driver --copy-up --state-dir --propagation --subid-source --copy-up-mode --ifname --slirp4netns-sandbox " +
        "--slirp4netns-seccomp --evacuate-cgroup2 --pidns --cgroupns --utsns --ipcns --reaper --detach-netns --log-file"
    ).split(" "),
);

let parser: Parser | undefined;
let loadError: string | undefined;
let loading: Promise<void> | undefined;

/**
 * Loads the parser once (web-tree-sitter compiles its WebAssembly asynchronously; parsing is synchronous
 * afterwards). Every policy awaits this before reading a resource (lib/adapt.ts `preparedResource`).
 * Never rejects: a load failure is remembered and `interpretArgv` throws it, which the policy reports as
 * "could not evaluate" instead of passing.
 */
export function shellParserReady(): Promise<void> {
    loading ??= (async () => {
        try {
            await Parser.init();
            const language = await Language.load(require.resolve("tree-sitter-bash/tree-sitter-bash.wasm"));
            const created = new Parser();
            created.setLanguage(language);
            parser = created;
        } catch (error) {
            loadError = error instanceof Error ? error.message : String(error);
        }
    })();
    return loading;
}

/** Kubernetes expansion of `$(VAR)` in command, args and env values; `$$` escapes; undefined variables stay as written. */
export function k8sExpand(text: string, env: Env): string {
    let length = text.length;
    const expanded = text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
        if (match === "$$") {
            return "$";
        }
        const value = env.get(name!);
        const result = value === undefined ? match : isUnknown(value) ? UNKNOWN_MARK : value;
        length += result.length;
        return length > MAX_EXPANDED ? "" : result;
    });
    // Doubling chains ($(A)$(A) in B, $(B)$(B) in C, ...) grow exponentially: past the cap the value is unknown.
    return length > MAX_EXPANDED ? UNKNOWN_MARK : expanded;
}

function toWord(text: string): string | Unknown {
    return text.includes(UNKNOWN_MARK) ? UNKNOWN : text;
}

function asText(value: EnvValue): string {
    return isUnknown(value) ? UNKNOWN_MARK : value;
}

function capped(value: string): string {
    return value.length > MAX_EXPANDED ? UNKNOWN_MARK : value;
}

export function basename(token: string): string {
    return token.slice(token.lastIndexOf("/") + 1);
}

interface Var {
    value: EnvValue;
    exported: boolean;
    /** The items of a Bash array (`flags=(--addr tcp://x)`); `value` is its first item, as `$flags` is. */
    items?: string[];
}

interface State {
    /** Syntax nesting followed so far (expansions within expansions, compound commands within compound commands). */
    nesting: number;
    vars: Map<string, Var>;
    /** `$0`, then `$1`, `$2`, ... */
    arg0: string;
    positional: string[];
    functions: Map<string, { body: Node; called: boolean }>;
    /** Names `export`ed while unset: exported once set. */
    exportPending: Set<string>;
    /** `set -a` (allexport): every variable assigned from then on is exported (POSIX `set`, option -a). */
    allexport: boolean;
    result: Interpretation;
    read: FileReader;
    budget: { commands: number; words: number; nodes: number; parsedChars: number; parseSteps: number };
}

function exportedEnv(vars: Map<string, Var>, extra: Map<string, EnvValue> = new Map()): Env {
    const env: Env = new Map();
    for (const [name, v] of vars) {
        if (v.exported) {
            env.set(name, v.value);
        }
    }
    for (const [name, value] of extra) {
        env.set(name, value);
    }
    return env;
}

/** Interprets a container's argv (command + args, already `$(VAR)`-expanded); `env` is the container's environment. */
export function interpretArgv(argv: (string | Unknown)[], env: Env, read: FileReader): Interpretation {
    if (!parser) {
        throw new Error(loadError ? `the shell parser could not be loaded (${loadError})` : "the shell parser is not loaded (await shellParserReady() first)");
    }
    const vars = new Map<string, Var>();
    for (const [name, value] of env) {
        vars.set(name, { value, exported: true });
    }
    const state: State = {
        nesting: 0,
        vars,
        arg0: "sh",
        positional: [],
        functions: new Map(),
        exportPending: new Set(),
        allexport: false,
        result: { invocations: [], files: new Map(), unreadScripts: [] },
        read,
        budget: { commands: LIMITS.commands, words: LIMITS.words, nodes: LIMITS.nodes, parsedChars: LIMITS.parsedChars, parseSteps: LIMITS.parseSteps },
    };
    try {
        runCommand(argv, new Map(), state, 0);
        // A function the script defines but is not seen calling may still be called in a way the pack
        // cannot follow (a name held in an unknown value, a trap): its body is read once, with unknown arguments.
        for (const [name, fn] of state.functions) {
            if (!fn.called) {
                callFunction(name, [UNKNOWN_MARK], new Map(), state, 1);
            }
        }
    } finally {
        evictTrees();
    }
    return state.result;
}

/** Strips wrappers (`exec`, `env A=b`, `tini --`, `rootlesskit --flags`, ...) and returns the real program and its arguments. */
function unwrap(words: (string | Unknown)[], assigns: Map<string, EnvValue>): (string | Unknown)[] {
    let rest = words;
    for (let guard = 0; guard < 10 && rest.length > 0; guard++) {
        const first = rest[0];
        if (isUnknown(first)) {
            return rest;
        }
        const name = basename(first);
        const skipOptions = (from: number, valued: Set<string> = new Set()) => {
            let i = from;
            while (i < rest.length) {
                const w = rest[i];
                if (typeof w !== "string" || !w.startsWith("-")) {
                    break;
                }
                i++;
                if (w === "--") {
                    break;
                }
                if (valued.has(w) && !w.includes("=")) {
                    i++;
                }
            }
            return i;
        };
        if (["exec", "nohup", "command", "builtin", "setsid", "catatonit", "stdbuf"].includes(name)) {
            rest = rest.slice(skipOptions(1, new Set(["-a"])));
        } else if (name === "env") {
            let i = skipOptions(1, new Set(["-u", "-C", "--unset", "--chdir"]));
            while (i < rest.length && typeof rest[i] === "string" && /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[i] as string)) {
                const text = rest[i] as string;
                assigns.set(text.slice(0, text.indexOf("=")), toWord(text.slice(text.indexOf("=") + 1)));
                i++;
            }
            rest = rest.slice(i);
        } else if (name === "sudo") {
            rest = rest.slice(skipOptions(1, new Set(["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"])));
        } else if (name === "nice" || name === "ionice") {
            rest = rest.slice(skipOptions(1, new Set(["-n", "-c"])));
        } else if (name === "timeout") {
            const i = skipOptions(1, new Set(["-s", "-k", "--signal", "--kill-after"]));
            rest = rest.slice(i + 1);
        } else if (name === "tini" || name === "dumb-init" || name === "tini-static") {
            rest = rest.slice(skipOptions(1, new Set(["-p", "-e", "-r", "--rewrite"])));
        } else if (name === "su-exec" || name === "gosu" || name === "s6-setuidgid" || name === "chpst") {
            rest = rest.slice(skipOptions(1, new Set(["-u"])) + 1);
        } else if (name === "rootlesskit") {
            // rootlesskit [flags] COMMAND: its flags are `--name=value`, booleans, or `--name value` for a known few.
            rest = rest.slice(skipOptions(1, ROOTLESSKIT_VALUED));
        } else {
            return rest;
        }
    }
    return rest;
}

function runCommand(rawWords: (string | Unknown)[], inheritedAssigns: Map<string, EnvValue>, state: State, depth: number): void {
    if (state.budget.commands-- <= 0) {
        return;
    }
    // A function the script defined runs instead of a program of that name (`exec`, `env` and `command` skip functions).
    const called = rawWords[0];
    if (typeof called === "string" && state.functions.has(called)) {
        callFunction(called, rawWords.slice(1).map(asText), inheritedAssigns, state, depth);
        return;
    }
    const assigns = new Map(inheritedAssigns);
    const words = unwrap(rawWords, assigns);
    if (words.length === 0) {
        return;
    }
    const first = words[0];
    if (isUnknown(first)) {
        state.result.invocations.push({ program: "", args: words.slice(1), env: exportedEnv(state.vars, assigns) });
        return;
    }
    const program = basename(first);
    const args = words.slice(1);
    if (builtin(program, args, state)) {
        return;
    }
    state.result.invocations.push({ program, args, env: exportedEnv(state.vars, assigns) });
    if (depth >= LIMITS.depth) {
        return;
    }
    // A shell: `sh -c SCRIPT [name args...]`, or `sh FILE args...`.
    if (SHELLS.has(program) || (program === "busybox" && typeof args[0] === "string" && SHELLS.has(args[0]))) {
        const shellArgs = program === "busybox" ? args.slice(1) : args;
        let i = 0;
        let inline = false;
        while (i < shellArgs.length && typeof shellArgs[i] === "string" && (shellArgs[i] as string).startsWith("-")) {
            const option = shellArgs[i] as string;
            if (/^-[a-z]*c[a-z]*$/i.test(option) && !option.startsWith("--")) {
                inline = true;
            }
            if (option === "-o" || option === "+o") {
                i++;
            }
            i++;
        }
        const target = shellArgs[i];
        if (target === undefined) {
            return;
        }
        if (isUnknown(target)) {
            state.result.invocations.push({ program: "", args: [], env: exportedEnv(state.vars, assigns) });
            return;
        }
        if (inline) {
            const name = shellArgs[i + 1];
            runScript(
                target,
                `the script given to ${program} -c`,
                name === undefined ? program : asText(name),
                shellArgs.slice(i + 2).map(asText),
                assigns,
                state,
                depth + 1,
            );
        } else {
            runFile(target, shellArgs.slice(i + 1).map(asText), assigns, state, depth + 1);
        }
        return;
    }
    // `eval WORDS`: the words, joined by spaces, are read again as a script.
    if (program === "eval") {
        if (args.some(isUnknown)) {
            state.result.invocations.push({ program: "", args: [], env: exportedEnv(state.vars, assigns) });
            return;
        }
        runScript(args.join(" "), "the text given to eval", state.arg0, state.positional, assigns, state, depth + 1, true);
        return;
    }
    if ((program === "." || program === "source") && typeof args[0] === "string") {
        runFile(args[0], args.slice(1).map(asText), assigns, state, depth + 1, true);
        return;
    }
    // Any other program that is a script mounted from a ConfigMap or Secret.
    if (first.includes("/") || first.endsWith(".sh")) {
        const file = state.read(first);
        if (file && "text" in file) {
            runScript(file.text, first, first, args.map(asText), assigns, state, depth + 1);
        }
    }
}

/** Shell builtins that change what later commands see; true when `program` was one of them. */
function builtin(program: string, args: (string | Unknown)[], state: State): boolean {
    if (program === "set") {
        // Options before `--` or the first operand: -a/+a and -o/+o allexport switch exporting every assignment
        // (an env file sourced after `set -a` exports its plain NAME=value lines).
        for (let i = 0; i < args.length; i++) {
            const a = args[i];
            if (typeof a !== "string" || a === "--" || !/^[-+]/.test(a)) {
                break;
            }
            if ((a === "-o" || a === "+o") && args[i + 1] === "allexport") {
                state.allexport = a === "-o";
                i++;
            } else if (/^[-+][a-zA-Z]+$/.test(a) && a.includes("a")) {
                state.allexport = a.startsWith("-");
            }
        }
        // `set -- ARGS` (or `set ARGS` whose first is not an option) replaces the positional parameters.
        const at = args.findIndex((a) => a === "--");
        if (at >= 0) {
            state.positional = args.slice(at + 1).map(asText);
        } else if (args.length > 0 && !(typeof args[0] === "string" && /^[-+]/.test(args[0]))) {
            state.positional = args.map(asText);
        }
        return true;
    }
    if (program === "shift") {
        const count = args.length === 0 ? 1 : typeof args[0] === "string" && /^\d+$/.test(args[0]) ? Number(args[0]) : undefined;
        state.positional = count === undefined ? [UNKNOWN_MARK] : state.positional.slice(count);
        return true;
    }
    if (program === "read") {
        // What `read` reads is not known: its variables become unknown.
        for (const name of args.filter((a): a is string => typeof a === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(a))) {
            setVar(name, UNKNOWN, state);
        }
        return true;
    }
    return false;
}

function setVar(name: string, value: EnvValue, state: State, exported?: boolean, items?: string[]): void {
    state.vars.set(name, { value, exported: state.allexport || (exported ?? (state.vars.get(name)?.exported || state.exportPending.has(name))), items });
}

function callFunction(name: string, args: string[], assigns: Map<string, EnvValue>, state: State, depth: number): void {
    const fn = state.functions.get(name)!;
    fn.called = true;
    if (depth >= LIMITS.depth + 4 || state.nesting >= LIMITS.nesting) {
        return;
    }
    const saved = { arg0: state.arg0, positional: state.positional };
    state.positional = args;
    // Per-command assignments before a function call are visible (exported) while it runs.
    const before = new Map([...assigns.keys()].map((k) => [k, state.vars.get(k)]));
    for (const [k, v] of assigns) {
        state.vars.set(k, { value: v, exported: true });
    }
    execute(fn.body, state, depth + 1);
    for (const [k, v] of before) {
        if (v === undefined) {
            state.vars.delete(k);
        } else {
            state.vars.set(k, v);
        }
    }
    state.arg0 = saved.arg0;
    state.positional = saved.positional;
}

function runFile(path: string, positional: string[], assigns: Map<string, EnvValue>, state: State, depth: number, sourced = false): void {
    const file = state.read(path);
    if (file && "text" in file) {
        runScript(
            file.text,
            path,
            sourced ? state.arg0 : path,
            sourced && positional.length === 0 ? state.positional : positional,
            assigns,
            state,
            depth,
            sourced,
        );
    } else {
        state.result.unreadScripts.push(file && "unreadable" in file ? file.unreadable : path);
    }
}

/**
 * Parses a script with tree-sitter-bash, bounded in size and CPU time, and runs its statements. A syntax
 * error is reported in `unreadScripts` (a shell stops there); what the parser recovered is still read.
 */
function runScript(
    script: string,
    where: string,
    arg0: string,
    positional: string[],
    assigns: Map<string, EnvValue>,
    state: State,
    depth: number,
    sameShell = false,
): void {
    const text = script.length > LIMITS.scriptChars ? script.slice(0, LIMITS.scriptChars) : script;
    if (text.length < script.length) {
        state.result.unreadScripts.push(`${where} (past its first ${LIMITS.scriptChars} characters, the policy pack's budget per script)`);
    }
    const tree = parseCached(text, where, state);
    if (!tree) {
        return;
    }
    const root = tree.rootNode;
    if (root.hasError) {
        const error = firstError(root);
        state.result.unreadScripts.push(
            `${where} (a syntax error at line ${error.startPosition.row + 1}, column ${error.startPosition.column + 1}: ` +
                `${error.isMissing ? `missing '${error.type}'` : `unexpected '${error.text.slice(0, 40)}'`}; the shell stops there)`,
        );
    }
    const saved = { arg0: state.arg0, positional: state.positional };
    state.arg0 = arg0;
    state.positional = positional;
    for (const [name, value] of assigns) {
        state.vars.set(name, { value, exported: true });
    }
    execute(root, state, depth);
    if (!sameShell) {
        state.arg0 = saved.arg0;
        state.positional = saved.positional;
    }
}

/**
 * Syntax trees by script text, most recently used last. The same script is read for each view of a
 * resource (the resource's own, the stack's) and again for sibling containers, so it is parsed once.
 * Trees are freed (their WebAssembly memory reused) only between interpretations, past LIMITS.cachedChars.
 */
const treeCache = new Map<string, { tree: Tree; steps: number }>();

/**
 * Parses a script within the command line's parse budget. The budget counts tree-sitter's progress
 * callbacks, which its parser makes once per 100 parse operations (`OP_COUNT_PER_PARSER_TIMEOUT_CHECK`
 * in web-tree-sitter's lib/parser.c), so where a parse stops depends on the input alone, not on the
 * machine's load; a cached tree is charged what it cost. CPU time is a second, coarser stop.
 */
function parseCached(text: string, where: string, state: State): Tree | undefined {
    const cached = treeCache.get(text);
    if (cached && cached.steps <= state.budget.parseSteps) {
        treeCache.delete(text);
        treeCache.set(text, cached);
        state.budget.parseSteps -= cached.steps;
        return cached.tree;
    }
    if (text.length > state.budget.parsedChars) {
        state.result.unreadScripts.push(`${where} (over the policy pack's budget of ${LIMITS.parsedChars} characters of script per command line)`);
        return undefined;
    }
    state.budget.parsedChars -= text.length;
    const started = process.cpuUsage();
    const stepsLeft = state.budget.parseSteps;
    let steps = 0;
    let over = false;
    const tree = parser!.parse(text, null, {
        progressCallback: () => {
            // Reading the CPU clock costs a system call: every 64th step reads it.
            if (++steps > stepsLeft || (steps % 64 === 0 && process.cpuUsage(started).user > LIMITS.parseCpuMs * 1000)) {
                over = true;
            }
            return over;
        },
    });
    state.budget.parseSteps -= steps;
    if (!tree) {
        parser!.reset();
        state.result.unreadScripts.push(`${where} (over the policy pack's parse budget${over ? "" : ", or not parsable"})`);
        return undefined;
    }
    treeCache.set(text, { tree, steps });
    sources.set(tree, text);
    return tree;
}

/** Frees the least recently used trees past the cache's size; never during an interpretation (its nodes would dangle). */
function evictTrees(): void {
    let chars = [...treeCache.keys()].reduce((sum, text) => sum + text.length, 0);
    for (const [text, { tree }] of treeCache) {
        if (chars <= LIMITS.cachedChars) {
            break;
        }
        treeCache.delete(text);
        tree.delete();
        chars -= text.length;
    }
}

/** A node's named children (web-tree-sitter types them as possibly null). */
function named(node: Node): Node[] {
    return node.namedChildren.filter((c): c is Node => c !== null);
}

/** The text each syntax tree was parsed from (a Node's `text` is read back through the parser's input callback). */
const sources = new WeakMap<Tree, string>();

function sourceOf(node: Node): string {
    return sources.get(node.tree) ?? "";
}

function firstError(root: Node): Node {
    let node = root;
    for (let guard = 0; guard < LIMITS.nesting; guard++) {
        const next = node.children.find((c) => c !== null && (c.isError || c.isMissing || c.hasError));
        if (!next || next.isMissing) {
            return next ?? node;
        }
        if (next.isError) {
            // Inside an ERROR node the complete statements come first; the parse failed at its first bare token.
            return next.children.find((c) => c !== null && (!c.isNamed || c.isError || c.isMissing)) ?? next;
        }
        node = next;
    }
    return node;
}

/**
 * Counts a syntax node read. Each costs a few calls into the WebAssembly parser (about 10 µs): past the
 * budget the rest of the script is not read, and that is reported once. The largest script of the
 * pack's corpora needs 3,817; the budget is five times that.
 */
function visit(state: State): boolean {
    if (--state.budget.nodes === -1) {
        state.result.unreadScripts.push(`the rest of the script (over the policy pack's budget of ${LIMITS.nodes} syntax nodes read per command line)`);
    }
    return state.budget.nodes >= 0;
}

/** Statement types of the grammar whose named children are statements (or words evaluated for their side effects). */
const SEQUENCES = new Set(
    "program list pipeline compound_statement do_group if_statement elif_clause else_clause while_statement case_statement case_item negated_command ERROR".split(
        " ",
    ),
);

/** Runs a statement (or a sequence of them) of the syntax tree. */
function execute(node: Node, state: State, depth: number): void {
    if (state.budget.commands <= 0 || state.nesting >= LIMITS.nesting || !visit(state)) {
        return;
    }
    state.nesting++;
    try {
        executeNode(node, state, depth);
    } finally {
        state.nesting--;
    }
}

function executeNode(node: Node, state: State, depth: number): void {
    switch (node.type) {
        case "comment":
        case "extglob_pattern":
        case "regex":
        case "test_operator":
            return;
        case "command":
            simpleCommand(node, [], state, depth);
            return;
        case "redirected_statement": {
            const body = node.childForFieldName("body");
            const redirects = node.namedChildren.filter((c): c is Node => c !== null && c.id !== body?.id);
            if (body?.type === "command") {
                simpleCommand(body, redirects, state, depth);
            } else {
                if (body) {
                    execute(body, state, depth);
                }
                readRedirects(redirects, state, depth).after.forEach((rest) => execute(rest, state, depth));
            }
            return;
        }
        case "variable_assignment":
            assign(node, state, undefined, depth);
            return;
        case "variable_assignments":
            named(node).forEach((child) => assign(child, state, undefined, depth));
            return;
        case "declaration_command":
            declare(node, state, depth);
            return;
        case "unset_command":
            for (const child of named(node).filter((c) => c.type === "variable_name" || c.type === "word")) {
                state.vars.delete(child.text);
                state.functions.delete(child.text);
            }
            return;
        case "function_definition": {
            const name = node.childForFieldName("name");
            const body = node.childForFieldName("body");
            if (name && body) {
                state.functions.set(name.text, { body, called: false });
            }
            return;
        }
        case "subshell":
            runInSubshell(node, state, depth);
            return;
        case "for_statement": {
            const variable = node.childForFieldName("variable")?.text ?? "";
            const valueNodes = node.childrenForFieldName("value").filter((c): c is Node => c !== null);
            const hasIn = node.children.some((c) => c?.type === "in");
            const items = valueNodes.length > 0 || hasIn ? valueNodes.flatMap((v) => expandWord(v, state, depth)) : [...state.positional];
            const body = node.childForFieldName("body");
            // Once per item (at most 64), so a loop that builds flags or starts several daemons is followed.
            for (const item of items.slice(0, 64)) {
                setVar(variable, toWord(item), state);
                if (body) {
                    execute(body, state, depth);
                }
            }
            return;
        }
        case "c_style_for_statement": {
            const body = node.childForFieldName("body");
            runSubstitutionsIn(node, state, depth, body);
            if (body) {
                execute(body, state, depth);
            }
            return;
        }
        case "test_command":
            runSubstitutionsIn(node, state, depth);
            return;
        default:
            if (SEQUENCES.has(node.type)) {
                named(node).forEach((child) => execute(child, state, depth));
                return;
            }
            // A word where a statement may stand (a `case` subject): only its substitutions run.
            expandWord(node, state, depth);
    }
}

/** Runs the command substitutions inside an arithmetic or test expression (their commands run; values are not used). */
function runSubstitutionsIn(node: Node, state: State, depth: number, skip?: Node | null): void {
    for (const sub of node.descendantsOfType(["command_substitution", "process_substitution"])) {
        if (sub && !(skip && sub.startIndex >= skip.startIndex && sub.endIndex <= skip.endIndex)) {
            expandWord(sub, state, depth);
        }
    }
}

/** `NAME=value`, `NAME+=value`, `NAME=(items)`: sets a shell variable (or, with `into`, a per-command assignment). */
function assign(node: Node, state: State, into: Map<string, EnvValue> | undefined, depth: number, exported?: boolean): void {
    const nameNode = node.childForFieldName("name");
    const valueNode = node.childForFieldName("value");
    if (!nameNode) {
        return;
    }
    const name = nameNode.type === "subscript" ? (nameNode.childForFieldName("name")?.text ?? "") : nameNode.text;
    const append = node.children.some((c) => c?.type === "+=");
    const old = state.vars.get(name);
    if (valueNode?.type === "array") {
        const items = named(valueNode).flatMap((c) => (c.type !== "comment" ? expandWord(c, state, depth) : []));
        const all = [...(append ? (old?.items ?? (old ? [asText(old.value)] : [])) : []), ...items];
        if (into) {
            into.set(name, toWord(all.join(" ")));
        } else {
            setVar(name, toWord(all[0] ?? ""), state, exported, all);
        }
        return;
    }
    const text = valueNode ? expandWord(valueNode, state, depth, false).join("") : "";
    const value = capped(append && old ? asText(old.value) + text : text);
    if (into) {
        into.set(name, toWord(value));
    } else {
        setVar(name, toWord(value), state, exported);
    }
}

/** `export`, `readonly`, `local`, `declare`, `typeset`: set variables, and export them where asked. */
function declare(node: Node, state: State, depth: number): void {
    const keyword = node.child(0)?.type ?? "";
    const flags = named(node)
        .filter((c) => c.type === "word" && c.text.startsWith("-"))
        .map((c) => c.text);
    const exportAll = keyword === "export" || flags.some((f) => /^-[a-zA-Z]*x/.test(f));
    for (const child of named(node)) {
        if (child.type === "variable_assignment") {
            assign(child, state, undefined, depth, exportAll || undefined);
        } else if (child.type === "variable_name" || (child.type === "word" && !child.text.startsWith("-"))) {
            const existing = state.vars.get(child.text);
            if (exportAll && existing) {
                existing.exported = true;
            } else if (exportAll) {
                // `export NAME` of an unset variable: it stays unset, and is exported once set.
                state.exportPending.add(child.text);
            }
        } else {
            expandWord(child, state, depth);
        }
    }
}

interface Redirect {
    /** The file stdout goes to (`>`, `>>`, `>|`, `&>`), when known. */
    target?: string | Unknown;
    append: boolean;
    /** Text given on stdin (heredoc or here-string). */
    input?: string;
}

/** Reads the redirections of a command: where stdout goes, and what a heredoc or here-string gives it. */
function readRedirects(redirects: Node[], state: State, depth: number): { redirect: Redirect; after: Node[] } {
    const redirect: Redirect = { append: false };
    const after: Node[] = [];
    const fileRedirect = (r: Node) => {
        const operator = r.children.find((c) => c !== null && !c.isNamed)?.type ?? "";
        const descriptor = r.childForFieldName("descriptor")?.text;
        const destination = r.childForFieldName("destination");
        if (!destination || !/^(>|>>|>\||&>|&>>|>&)$/.test(operator) || (descriptor !== undefined && descriptor !== "1")) {
            return;
        }
        const word = expandWord(destination, state, depth, false).join("");
        if (operator === ">&" && /^\d+$/.test(word)) {
            return; // a descriptor duplicated, not a file
        }
        redirect.target = toWord(word);
        redirect.append = operator.endsWith(">>");
    };
    for (const r of redirects) {
        if (r.type === "file_redirect") {
            fileRedirect(r);
        } else if (r.type === "heredoc_redirect") {
            redirect.input = heredocText(r, state, depth);
            for (const child of named(r)) {
                if (child.type === "file_redirect") {
                    fileRedirect(child);
                } else if (!/^heredoc_(start|body|end)$/.test(child.type)) {
                    // `cat <<EOF | tee /f` and `cat <<EOF && next`: the rest of the line after the heredoc operator.
                    after.push(child);
                }
            }
        } else if (r.type === "herestring_redirect") {
            const word = named(r)[0];
            redirect.input = word ? `${expandWord(word, state, depth, false).join("")}\n` : "\n";
        } else if (r.type !== "comment") {
            after.push(r);
        }
    }
    return { redirect, after };
}

/** A heredoc's text: variables expanded unless its delimiter is quoted, leading tabs removed for `<<-`. */
function heredocText(redirect: Node, state: State, depth: number): string {
    const start = redirect.children.find((c) => c?.type === "heredoc_start");
    const body = redirect.children.find((c) => c?.type === "heredoc_body");
    const end = redirect.children.find((c) => c?.type === "heredoc_end");
    if (!body) {
        return "";
    }
    const quoted = /['"\\]/.test(start?.text ?? "");
    const strip = redirect.children.some((c) => c?.type === "<<-");
    const source = sourceOf(body);
    const stop = end ? end.startIndex : body.endIndex;
    let text = "";
    let at = body.startIndex;
    if (!quoted) {
        for (const child of named(body).filter((c) => c.type !== "heredoc_content")) {
            text += unescapeHeredoc(source.slice(at, child.startIndex));
            text = capped(text + expandWord(child, state, depth, false).join(""));
            at = child.endIndex;
        }
    }
    const rest = source.slice(at, stop);
    text += quoted ? rest : unescapeHeredoc(rest);
    if (strip) {
        text = text.replace(/^\t+/gm, "");
    }
    return text === "" || text.endsWith("\n") ? text : text.replace(/[^\n]*$/, (last) => (last.trim() === "" ? "" : `${last}\n`));
}

/** In a heredoc a backslash escapes only `$`, backquote, backslash and newline (not `"`). */
function unescapeHeredoc(text: string): string {
    return text.replace(/\\([$`\\\n])/g, (_m, c: string) => (c === "\n" ? "" : c));
}

/** One simple command: assignments, words, redirections; then the files it writes and what it runs. */
function simpleCommand(node: Node, outer: Node[], state: State, depth: number): void {
    const assigns = new Map<string, EnvValue>();
    const words: string[] = [];
    const redirects: Node[] = [];
    let hasName = false;
    for (const child of named(node)) {
        if (child.type === "variable_assignment" && !hasName) {
            assign(child, state, assigns, depth);
        } else if (/_redirect$/.test(child.type)) {
            redirects.push(child);
        } else if (child.type !== "comment") {
            hasName ||= child.type === "command_name";
            words.push(...expandWord(child, state, depth));
        }
    }
    const { redirect, after } = readRedirects([...redirects, ...outer], state, depth);
    if (!hasName) {
        // Assignments alone set shell variables.
        for (const [name, value] of assigns) {
            setVar(name, value, state);
        }
    } else {
        const argv = words.map(toWord);
        writeFiles(argv, redirect, state);
        runCommand(argv, assigns, state, depth);
    }
    after.forEach((rest) => execute(rest, state, depth));
}

/** Files a command writes: `cat`/`tee` given a heredoc or here-string, `echo`/`printf` redirected to a file. */
function writeFiles(words: (string | Unknown)[], redirect: Redirect, state: State): void {
    const program = typeof words[0] === "string" ? basename(words[0]) : "";
    const write = (path: string | Unknown | undefined, content: string, append: boolean) => {
        if (typeof path === "string") {
            state.result.files.set(path, capped(`${append ? (state.result.files.get(path) ?? "") : ""}${content}`));
        }
    };
    if (redirect.input !== undefined && (program === "cat" || program === "tee")) {
        write(redirect.target, redirect.input, redirect.append);
        if (program === "tee") {
            const rest = words.slice(1);
            const teeAppend = rest.some((w) => w === "-a" || w === "--append");
            for (const path of rest.filter((w) => typeof w === "string" && !w.startsWith("-"))) {
                write(path, redirect.input, teeAppend);
            }
        }
    } else if ((program === "echo" || program === "printf") && typeof redirect.target === "string") {
        const parts = words.slice(1).map(asText);
        let content: string;
        if (program === "printf") {
            const [format, ...rest] = parts;
            content = rest.length > 0 && /%s/.test(format ?? "") ? rest.join(format?.includes("\\n") ? "\n" : "") : (format ?? "");
            content = content.replace(/\\n/g, "\n").replace(/\\t/g, "\t");
        } else {
            content = parts
                .filter((p) => !/^-[neE]+$/.test(p))
                .join(" ")
                .replace(/\\n/g, "\n");
        }
        write(redirect.target, `${content}\n`, redirect.append);
    }
}

/**
 * Expands a word of the syntax tree into fields (with UNKNOWN_MARK where a value is unknown): quotes
 * removed, parameters expanded, unquoted expansions split on blanks (unless `split` is false, as in
 * assignments and redirection targets), command substitutions run (their output unknown).
 */
function expandWord(node: Node, state: State, depth: number, split = true): string[] {
    const fields = new Fields(split);
    expandInto(node, fields, false, state, depth);
    const out = fields.done();
    state.budget.words -= out.length;
    return state.budget.words < 0 ? [] : out;
}

class Fields {
    private readonly list: string[] = [];
    private current = "";
    private started = false;

    constructor(private readonly split: boolean) {}

    literal(text: string): void {
        this.current = capped(this.current + text);
        this.started = true;
    }

    /**
     * An expansion's value (a list for `$@`, `$*` and arrays): quoted, it joins the current field (quoted
     * `"$@"`/`"${a[@]}"`, `perItem`, give one field per item); unquoted, it is split into fields on blanks.
     */
    value(value: string | string[], quoted: boolean, perItem = false): void {
        if (Array.isArray(value) && quoted && perItem && this.split) {
            value.forEach((item, k) => {
                if (k > 0) {
                    this.end();
                }
                this.literal(item);
            });
            return;
        }
        const text = Array.isArray(value) ? value.join(" ") : value;
        if (quoted || !this.split) {
            this.literal(text);
            return;
        }
        text.split(/[ \t\n]+/).forEach((part, k) => {
            if (k > 0) {
                this.end();
            }
            this.current = capped(this.current + part);
            this.started ||= part !== "";
        });
    }

    end(): void {
        if (this.started) {
            this.list.push(this.current);
        }
        this.current = "";
        this.started = false;
    }

    done(): string[] {
        this.end();
        return this.list;
    }
}

/** Expands the node's text range: named children expanded, the text between them literal. */
function expandRange(node: Node, from: number, to: number, fields: Fields, quoted: boolean, state: State, depth: number): void {
    if (node.childCount > LIMITS.nodes) {
        fields.literal(UNKNOWN_MARK);
        return;
    }
    const source = sourceOf(node);
    let at = from;
    for (const child of node.children) {
        if (!child || child.startIndex < from || child.endIndex > to) {
            continue;
        }
        if (state.budget.nodes < 0) {
            fields.literal(UNKNOWN_MARK);
            return;
        }
        if (!child.isNamed) {
            if (child.startIndex > at) {
                fields.literal(unescape(source.slice(at, child.startIndex), quoted));
            }
            at = child.endIndex;
            continue;
        }
        if (child.startIndex > at) {
            fields.literal(unescape(source.slice(at, child.startIndex), quoted));
        }
        expandInto(child, fields, quoted, state, depth);
        at = child.endIndex;
    }
    if (to > at) {
        fields.literal(unescape(source.slice(at, to), quoted));
    }
}

/** Removes the backslashes the shell removes: any escaped character outside quotes, `$ \` " \\ newline` inside double quotes. */
function unescape(text: string, quoted: boolean): string {
    return quoted
        ? text.replace(/\\([$`"\\\n])/g, (_m, c: string) => (c === "\n" ? "" : c))
        : text.replace(/\\(.|\n)/g, (_m, c: string) => (c === "\n" ? "" : c));
}

function expandInto(node: Node, fields: Fields, quoted: boolean, state: State, depth: number): void {
    if (state.nesting >= LIMITS.nesting || !visit(state)) {
        fields.literal(UNKNOWN_MARK);
        return;
    }
    state.nesting++;
    try {
        expandNode(node, fields, quoted, state, depth);
    } finally {
        state.nesting--;
    }
}

const SPECIAL_UNKNOWN = new Set(["#", "?", "$", "!", "-", "_"]);

function expandNode(node: Node, fields: Fields, quoted: boolean, state: State, depth: number): void {
    switch (node.type) {
        case "word":
        case "number":
        case "command_name":
        case "concatenation":
        case "string_content":
        case "brace_expression":
        case "extglob_pattern":
        case "regex":
        case "special_variable_name":
        case "variable_name":
            if (node.namedChildCount === 0) {
                fields.literal(unescape(node.text, quoted));
            } else {
                expandRange(node, node.startIndex, node.endIndex, fields, quoted, state, depth);
            }
            return;
        case "string":
            // "...": between its quotes, text and expansions, nothing split.
            fields.literal("");
            expandRange(node, node.startIndex + 1, node.endIndex - 1, fields, true, state, depth);
            return;
        case "raw_string":
            fields.literal(node.text.slice(1, -1));
            return;
        case "ansi_c_string":
            fields.literal(ansiC(node.text.slice(2, -1)));
            return;
        case "translated_string":
            named(node).forEach((inner) => expandInto(inner, fields, quoted, state, depth));
            return;
        case "simple_expansion": {
            const name = named(node)[0]?.text ?? "";
            parameter(name, fields, quoted, state);
            return;
        }
        case "expansion":
            braceExpansion(node, fields, quoted, state, depth);
            return;
        case "command_substitution":
            commandSubstitution(node, fields, quoted, state, depth);
            return;
        case "process_substitution":
            runInSubshell(node, state, depth);
            fields.literal(UNKNOWN_MARK);
            return;
        default:
            // Arithmetic and anything else this model does not evaluate: unknown (its substitutions still run).
            runSubstitutionsIn(node, state, depth);
            fields.literal(UNKNOWN_MARK);
    }
}

function ansiC(text: string): string {
    const map: Record<string, string> = {
        n: "\n",
        t: "\t",
        r: "\r",
        "\\": "\\",
        "'": "'",
        '"': '"',
        a: "\u0007",
        b: "\b",
        e: "\u001b",
        E: "\u001b",
        f: "\f",
        v: "\v",
    };
    return text.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_m, c: string) =>
        c.startsWith("x") && c.length > 1
            ? String.fromCharCode(parseInt(c.slice(1), 16))
            : /^[0-7]+$/.test(c)
              ? String.fromCharCode(parseInt(c, 8))
              : (map[c] ?? `\\${c}`),
    );
}

/** The value of `$name` (a variable, a positional or special parameter). */
function parameterValue(name: string, state: State): string | string[] {
    if (/^\d+$/.test(name)) {
        return name === "0" ? state.arg0 : (state.positional[Number(name) - 1] ?? "");
    }
    if (name === "@" || name === "*") {
        return [...state.positional];
    }
    if (SPECIAL_UNKNOWN.has(name)) {
        return UNKNOWN_MARK;
    }
    const v = state.vars.get(name);
    return v === undefined ? "" : capped(asText(v.value));
}

function parameter(name: string, fields: Fields, quoted: boolean, state: State): void {
    fields.value(parameterValue(name, state), quoted, name === "@");
}

/** `${...}`: `${NAME}`, `${NAME-w}`, `${NAME:-w}`, `=`/`:=`, `+`/`:+`, `?`/`:?`, arrays `${a[@]}`, `${a[*]}`, `${a[N]}`; anything else is unknown. */
function braceExpansion(node: Node, fields: Fields, quoted: boolean, state: State, depth: number): void {
    const children = node.children.filter((c): c is Node => c !== null);
    const inner = children.slice(1, -1);
    const first = inner[0];
    const operatorNode = node.childForFieldName("operator");
    if (first?.type === "subscript" && inner.length === 1) {
        const name = first.childForFieldName("name")?.text ?? "";
        const index = first.childForFieldName("index")?.text ?? "";
        const v = state.vars.get(name);
        const items = v?.items ?? (v ? [asText(v.value)] : []);
        if (index === "@" || index === "*") {
            fields.value(items, quoted, index === "@");
        } else if (/^\d+$/.test(index)) {
            fields.value(items[Number(index)] ?? "", quoted);
        } else {
            fields.literal(UNKNOWN_MARK);
        }
        return;
    }
    if (!first || (first.type !== "variable_name" && first.type !== "special_variable_name")) {
        // `${#NAME}`, `${!NAME}` and other forms.
        runSubstitutionsIn(node, state, depth);
        fields.literal(UNKNOWN_MARK);
        return;
    }
    const name = first.text;
    if (inner.length === 1) {
        parameter(name, fields, quoted, state);
        return;
    }
    const op = operatorNode?.type ?? "";
    if (!/^:?[-=+?]$/.test(op) || inner[1]?.id !== operatorNode?.id) {
        // Pattern removal and substitution (`${A%:*}`, `${A/x/y}`), substrings, case changes: not modelled.
        runSubstitutionsIn(node, state, depth);
        fields.literal(UNKNOWN_MARK);
        return;
    }
    const raw = parameterValue(name, state);
    const value = Array.isArray(raw) ? raw.join(" ") : raw;
    const isSet =
        (/^\d+$/.test(name) ? Number(name) <= state.positional.length : name === "@" || name === "*" ? state.positional.length > 0 : state.vars.has(name)) &&
        (!op.startsWith(":") || value !== "");
    const close = children[children.length - 1];
    const word = (): string => {
        // The word after the operator: expanded like double-quoted text when the expansion is quoted.
        const sub = new Fields(false);
        expandRange(node, operatorNode!.endIndex, close.startIndex, sub, quoted, state, depth);
        return sub.done().join("");
    };
    let result: string;
    if (op.endsWith("-") || op.endsWith("=")) {
        result = isSet ? value : word();
        if (!isSet && op.endsWith("=")) {
            setVar(name, toWord(result), state);
        }
    } else if (op.endsWith("+")) {
        result = isSet ? word() : "";
    } else {
        result = value;
    }
    fields.value(result, quoted);
}

/**
 * `$(...)` and backquotes: the commands inside run (in a subshell, so a daemon or client hidden there
 * counts), their output is unknown; except `$(cat FILE)` and `$(< FILE)`, the text of a file the script
 * wrote or a ConfigMap/Secret mounted there.
 */
function commandSubstitution(node: Node, fields: Fields, quoted: boolean, state: State, depth: number): void {
    const inner = named(node).filter((c) => c.type !== "comment");
    let path: string | undefined;
    if (inner.length === 1 && inner[0].type === "command") {
        const words = named(inner[0]);
        if (words.length === 2 && words[0].type === "command_name" && words[0].text === "cat" && isPlainWord(words[1])) {
            path = expandWord(words[1], state, depth, false).join("");
        }
    } else if (inner.length === 1 && inner[0].type === "file_redirect" && inner[0].children[0]?.type === "<") {
        const destination = inner[0].childForFieldName("destination");
        if (destination && isPlainWord(destination)) {
            path = expandWord(destination, state, depth, false).join("");
        }
    }
    if (path !== undefined && !path.includes(UNKNOWN_MARK)) {
        const written = state.result.files.get(path);
        const file = written !== undefined ? { text: written } : state.read(path);
        if (file && "text" in file) {
            fields.value(capped(file.text.replace(/\n+$/, "")), quoted);
            return;
        }
    }
    runInSubshell(node, state, depth);
    fields.literal(UNKNOWN_MARK);
}

function isPlainWord(node: Node): boolean {
    return ["word", "string", "raw_string", "concatenation", "simple_expansion", "expansion"].includes(node.type);
}

/** Runs a node's statements in a subshell: its assignments, functions and positional parameters do not reach the script. */
function runInSubshell(node: Node, state: State, depth: number): void {
    const saved = {
        vars: new Map([...state.vars].map(([k, v]) => [k, { ...v }])),
        functions: new Map(state.functions),
        allexport: state.allexport,
        arg0: state.arg0,
        positional: state.positional,
    };
    named(node).forEach((child) => execute(child, state, depth));
    Object.assign(state, saved);
}
