import { UNKNOWN, Unknown, isUnknown } from "./plain";

/**
 * A small, bounded model of how a container's command line runs: Kubernetes `$(VAR)` expansion, then
 * (for `sh -c` scripts and script files) POSIX-shell word splitting, quoting, variables, heredocs,
 * redirections into files, and wrappers such as `exec`, `tini --` or `rootlesskit`. It answers one
 * question: which programs end up running, with which arguments and environment, and which files
 * the script writes on the way. Anything it cannot know (command substitution, unknown values)
 * becomes UNKNOWN instead of a guess.
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
    /** Script files the command runs that could not be read (not mounted from an object in view). */
    unreadScripts: string[];
}

export type FileReader = (path: string) => { text: string; source?: string } | { unreadable: string } | undefined;

const LIMITS = { depth: 4, commands: 5_000, scriptChars: 256_000, words: 20_000 };

const SHELLS = new Set(["sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"]);
const KEYWORDS = new Set(["if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "(", ")", "time", "for", "case", "esac"]);

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

/** Longest value a `$(VAR)` expansion may produce before it is treated as unknown. */
export const MAX_EXPANDED = 65_536;

function toWord(text: string): string | Unknown {
    return text.includes(UNKNOWN_MARK) ? UNKNOWN : text;
}

export function basename(token: string): string {
    return token.slice(token.lastIndexOf("/") + 1);
}

interface Var {
    value: EnvValue;
    exported: boolean;
}

interface State {
    depth: number;
    vars: Map<string, Var>;
    positional: (string | Unknown)[];
    result: Interpretation;
    read: FileReader;
    budget: { commands: number };
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
    const vars = new Map<string, Var>();
    for (const [name, value] of env) {
        vars.set(name, { value, exported: true });
    }
    const state: State = {
        depth: 0,
        vars,
        positional: [],
        result: { invocations: [], files: new Map(), unreadScripts: [] },
        read,
        budget: { commands: LIMITS.commands },
    };
    runCommand(argv, new Map(), state, 0);
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
            rest = rest.slice(
                skipOptions(
                    1,
                    new Set([
                        "--net",
                        "--mtu",
                        "--cidr",
                        "--port-driver",
                        "--copy-up",
                        "--state-dir",
                        "--propagation",
                        "--subid-source",
                        "--copy-up-mode",
                        "--ifname",
                        "--slirp4netns-sandbox",
                        "--slirp4netns-seccomp",
                        "--evacuate-cgroup2",
                        "--pidns",
                        "--cgroupns",
                        "--utsns",
                        "--ipcns",
                        "--reaper",
                        "--detach-netns",
                        "--log-file",
                    ]),
                ),
            );
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
            runScript(target, shellArgs.slice(i + 2), assigns, state, depth + 1);
        } else {
            runFile(target, shellArgs.slice(i + 1), assigns, state, depth + 1);
        }
        return;
    }
    // `eval WORDS`: the words, joined by spaces, are read again as a script.
    if (program === "eval") {
        if (args.some(isUnknown)) {
            state.result.invocations.push({ program: "", args: [], env: exportedEnv(state.vars, assigns) });
            return;
        }
        runScript(args.join(" "), state.positional, assigns, state, depth + 1);
        return;
    }
    if ((program === "." || program === "source") && typeof args[0] === "string") {
        runFile(args[0], args.slice(1), assigns, state, depth + 1);
        return;
    }
    // Any other program that is a script mounted from a ConfigMap or Secret.
    if (first.includes("/") || first.endsWith(".sh")) {
        const file = state.read(first);
        if (file && "text" in file) {
            runScript(file.text, args, assigns, state, depth + 1);
        }
    }
}

function runFile(path: string, positional: (string | Unknown)[], assigns: Map<string, EnvValue>, state: State, depth: number): void {
    const file = state.read(path);
    if (file && "text" in file) {
        runScript(file.text, positional, assigns, state, depth);
    } else {
        state.result.unreadScripts.push(file && "unreadable" in file ? file.unreadable : path);
    }
}

interface Heredoc {
    body: string;
    expand: boolean;
}

/** Pulls heredoc bodies out of a script; their operators become placeholder words. */
function extractHeredocs(script: string): { text: string; heredocs: Heredoc[] } {
    const lines = script.split("\n");
    const out: string[] = [];
    const heredocs: Heredoc[] = [];
    for (let i = 0; i < lines.length; i++) {
        let line = lines[i];
        const pending: { delimiter: string; strip: boolean; expand: boolean; index: number }[] = [];
        line = line.replace(/<<(?!<)(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2/g, (_m, strip: string, quote: string, delimiter: string) => {
            const index = heredocs.length + pending.length;
            pending.push({ delimiter, strip: strip === "-", expand: quote === "", index });
            return ` \u0002${index} `;
        });
        out.push(line);
        for (const p of pending) {
            const body: string[] = [];
            while (++i < lines.length) {
                const candidate = p.strip ? lines[i].replace(/^\t+/, "") : lines[i];
                if (candidate.trim() === p.delimiter) {
                    break;
                }
                body.push(candidate);
            }
            heredocs[p.index] = { body: body.join("\n") + "\n", expand: p.expand };
        }
    }
    return { text: out.join("\n"), heredocs };
}

/**
 * Bash arrays as plain words: `flags=(--addr tcp://x --debug)` (and `+=`) becomes a string of the items,
 * and `"${flags[@]}"`/`${flags[*]}` an unquoted `$flags`, so the items reach the command as separate
 * words the way bash passes them.
 */
function flattenArrays(script: string): string {
    return script
        .replace(/(^|[\s;])([A-Za-z_][A-Za-z0-9_]*)(\+?)=\(([^()]*)\)/g, (_m, lead: string, name: string, append: string, items: string) => {
            const words = items.replace(/\\\n/g, " ").replace(/["']/g, "").replace(/\s+/g, " ").trim();
            return `${lead}${name}="${append ? `$${name} ` : ""}${words}"`;
        })
        .replace(/"?\$\{([A-Za-z_][A-Za-z0-9_]*)\[[@*]\]\}"?/g, (_m, name: string) => `$${name}`);
}

const SEP = "\u0001;";
const REDIRECT = "\u0001>";

function runScript(script: string, positional: (string | Unknown)[], assigns: Map<string, EnvValue>, state: State, depth: number): void {
    const text = script.length > LIMITS.scriptChars ? script.slice(0, LIMITS.scriptChars) : script;
    const savedDepth = state.depth;
    state.depth = depth;
    const { text: withArrays, heredocs } = extractHeredocs(text);
    const body = flattenArrays(withArrays);
    const saved = state.positional;
    state.positional = positional;
    for (const [name, value] of assigns) {
        state.vars.set(name, { value, exported: true });
    }
    const tokens = tokenize(body, state);
    let current: (string | Unknown)[] = [];
    for (const token of tokens) {
        if (token === SEP) {
            executeWords(current, heredocs, state, depth);
            current = [];
        } else {
            current.push(token);
        }
    }
    executeWords(current, heredocs, state, depth);
    state.positional = saved;
    state.depth = savedDepth;
}

function executeWords(words: (string | Unknown)[], heredocs: Heredoc[], state: State, depth: number): void {
    // `for NAME in ITEMS`: the body (later commands) sees NAME; the first tcp:// item is the one that matters.
    if (words[0] === "for" && typeof words[1] === "string" && words[2] === "in") {
        const items = words.slice(3).filter((w) => w !== "do");
        const chosen = items.find((w) => typeof w === "string" && /^tcp:\/\//i.test(w)) ?? items[0] ?? "";
        state.vars.set(words[1], { value: chosen, exported: state.vars.get(words[1])?.exported ?? false });
        return;
    }
    // `case WORD in`: the word is matched, never run. A pattern on the same line ends at `)`, which the
    // tokenizer turns into a separator, so the branch's command is still read as a command of its own.
    if (words[0] === "case") {
        const inAt = words.indexOf("in");
        if (inAt > 1) {
            executeWords(words.slice(inAt + 1), heredocs, state, depth);
        }
        return;
    }
    // Leading keywords and per-command assignments.
    let i = 0;
    while (i < words.length && typeof words[i] === "string" && KEYWORDS.has(words[i] as string)) {
        i++;
    }
    const assigns = new Map<string, EnvValue>();
    let rest = words.slice(i);
    const first = rest[0];
    if (typeof first === "string" && ["export", "readonly", "local", "declare", "typeset"].includes(first)) {
        const exportAll = first === "export" || rest.includes("-x");
        for (const w of rest.slice(1)) {
            if (typeof w !== "string" || w.startsWith("-")) {
                continue;
            }
            const eq = w.indexOf("=");
            if (eq > 0) {
                state.vars.set(w.slice(0, eq), { value: toWord(w.slice(eq + 1)), exported: exportAll || (state.vars.get(w.slice(0, eq))?.exported ?? false) });
            } else if (exportAll && state.vars.has(w)) {
                state.vars.get(w)!.exported = true;
            }
        }
        return;
    }
    let j = 0;
    while (j < rest.length && typeof rest[j] === "string" && /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[j] as string)) {
        const w = rest[j] as string;
        assigns.set(w.slice(0, w.indexOf("=")), toWord(w.slice(w.indexOf("=") + 1)));
        j++;
    }
    rest = rest.slice(j);
    if (rest.length === 0) {
        for (const [name, value] of assigns) {
            state.vars.set(name, { value, exported: state.vars.get(name)?.exported ?? false });
        }
        return;
    }
    // Redirections and heredoc placeholders.
    const plain: (string | Unknown)[] = [];
    let target: string | Unknown | undefined;
    let heredoc: Heredoc | undefined;
    for (let k = 0; k < rest.length; k++) {
        const w = rest[k];
        if (w === REDIRECT) {
            const next = rest[++k];
            target = next;
        } else if (typeof w === "string" && w.startsWith("\u0002")) {
            heredoc = heredocs[Number(w.slice(1))];
        } else {
            plain.push(w);
        }
    }
    const program = typeof plain[0] === "string" ? basename(plain[0] as string) : "";
    if (heredoc && (program === "cat" || program === "tee")) {
        const content = heredoc.expand ? expandText(heredoc.body, state) : heredoc.body;
        const teeTarget = program === "tee" ? plain.slice(1).find((w) => typeof w === "string" && !w.startsWith("-")) : undefined;
        for (const path of [target, teeTarget]) {
            if (typeof path === "string") {
                state.result.files.set(path, content);
            }
        }
    } else if ((program === "echo" || program === "printf") && typeof target === "string") {
        const parts = plain.slice(1).map((w) => (isUnknown(w) ? UNKNOWN_MARK : w));
        let content: string;
        if (program === "printf") {
            const [format, ...rest2] = parts;
            content = rest2.length > 0 && /%s/.test(format ?? "") ? rest2.join(format?.includes("\\n") ? "\n" : "") : (format ?? "");
            content = content.replace(/\\n/g, "\n").replace(/\\t/g, "\t");
        } else {
            content = parts
                .filter((p) => !/^-[neE]+$/.test(p))
                .join(" ")
                .replace(/\\n/g, "\n");
        }
        state.result.files.set(target, `${state.result.files.get(target) ?? ""}${content}\n`);
    }
    runCommand(plain, assigns, state, depth);
}

function capped(value: string): string {
    return value.length > MAX_EXPANDED ? UNKNOWN_MARK : value;
}

function lookupVar(name: string, state: State): string {
    return capped(lookupVarRaw(name, state));
}

function lookupVarRaw(name: string, state: State): string {
    if (/^\d$/.test(name)) {
        const value = name === "0" ? "sh" : state.positional[Number(name) - 1];
        return value === undefined ? "" : isUnknown(value) ? UNKNOWN_MARK : value;
    }
    if (name === "@" || name === "*") {
        return state.positional.map((p) => (isUnknown(p) ? UNKNOWN_MARK : p)).join(" ");
    }
    const v = state.vars.get(name);
    if (v === undefined) {
        return "";
    }
    return isUnknown(v.value) ? UNKNOWN_MARK : v.value;
}

/** Reads `$NAME`, `${NAME}`, `${NAME:-default}` etc. at `text[i]` (which is `$`); returns the value and the next index. */
function readExpansion(text: string, i: number, state: State): { value: string; next: number } {
    const rest = text.slice(i + 1, i + 2);
    if (rest === "(" || rest === "`") {
        // Command or arithmetic substitution: its output is not known here.
        let depthCount = 0;
        let k = i + 1;
        for (; k < text.length; k++) {
            if (text[k] === "(") {
                depthCount++;
            } else if (text[k] === ")") {
                depthCount--;
                if (depthCount === 0) {
                    break;
                }
            }
        }
        // `$(cat FILE)` / `$(< FILE)`: the text of a file the script wrote or a ConfigMap/Secret mounted there.
        const cat = rest === "(" ? /^\s*(?:cat\s+|<\s*)(['"]?)([^\s'"$;|&<>()]+)\1\s*$/.exec(text.slice(i + 2, k)) : null;
        if (cat) {
            const written = state.result.files.get(cat[2]);
            const file = written !== undefined ? { text: written } : state.read(cat[2]);
            if (file && "text" in file) {
                return { value: capped(file.text.replace(/\n+$/, "")), next: k + 1 };
            }
        }
        // The commands inside still run (in a subshell): a daemon or client hidden in `$(...)` counts.
        // Their output is not known here.
        if (rest === "(" && text[i + 2] !== "(" && state.depth < LIMITS.depth && state.budget.commands > 0) {
            const saved = new Map([...state.vars].map(([name, v]) => [name, { ...v }]));
            runScript(text.slice(i + 2, k), state.positional, new Map(), state, state.depth + 1);
            state.vars = saved;
        }
        return { value: UNKNOWN_MARK, next: k + 1 };
    }
    if (rest === "{") {
        const close = text.indexOf("}", i + 2);
        if (close < 0) {
            return { value: "$", next: i + 1 };
        }
        const inner = text.slice(i + 2, close);
        const match = /^([A-Za-z_][A-Za-z0-9_]*|\d+|[@*])(?:(:?[-=+?])(.*))?$/s.exec(inner);
        if (!match) {
            return { value: UNKNOWN_MARK, next: close + 1 };
        }
        const [, name, op, word] = match;
        const value = lookupVar(name, state);
        if (op === undefined) {
            return { value, next: close + 1 };
        }
        const isSet = state.vars.has(name) && (!op.startsWith(":") || value !== "");
        const fallback = expandText(word ?? "", state);
        if (op.endsWith("-") || op.endsWith("=")) {
            if (!isSet && op.endsWith("=")) {
                state.vars.set(name, { value: toWord(fallback), exported: false });
            }
            return { value: isSet ? value : fallback, next: close + 1 };
        }
        if (op.endsWith("+")) {
            return { value: isSet ? fallback : "", next: close + 1 };
        }
        return { value, next: close + 1 };
    }
    const match = /^([A-Za-z_][A-Za-z0-9_]*|\d|[@*#?$!])/.exec(text.slice(i + 1, i + 200));
    if (!match) {
        return { value: "$", next: i + 1 };
    }
    const name = match[1];
    const value = ["#", "?", "$", "!"].includes(name) ? UNKNOWN_MARK : lookupVar(name, state);
    return { value, next: i + 1 + name.length };
}

/** Expands variables in heredoc bodies (no word splitting, quotes are literal). */
function expandText(text: string, state: State): string {
    let out = "";
    for (let i = 0; i < text.length; i++) {
        if (text[i] === "$") {
            const { value, next } = readExpansion(text, i, state);
            out = capped(out + value);
            i = next - 1;
        } else if (text[i] === "\\" && i + 1 < text.length && "$`\\".includes(text[i + 1])) {
            out += text[++i];
        } else {
            out += text[i];
        }
    }
    return out;
}

/** Splits a script into words (expanded) and separators, the way a POSIX shell reads it. */
function* tokenize(text: string, state: State): Generator<string | Unknown> {
    let count = 0;
    const tokens: (string | Unknown)[] = [];
    let current = "";
    let inWord = false;
    let quote: string | undefined;
    const flush = () => {
        if (inWord) {
            // Assignments keep their text: `out=$(cmd)` is an assignment of an unknown value, not an unknown program.
            tokens.push(/^[A-Za-z_][A-Za-z0-9_]*=/.test(current) ? current : toWord(current));
        }
        current = "";
        inWord = false;
    };
    // A generator: the caller executes each command at its separator before later text is read, so
    // variables assigned earlier in the script are expanded in later commands.
    for (let i = 0; i < text.length && count < LIMITS.words; i++) {
        while (tokens.length > 0) {
            count++;
            yield tokens.shift()!;
        }
        const c = text[i];
        if (quote === "'") {
            if (c === "'") {
                quote = undefined;
            } else {
                current += c;
            }
        } else if (quote === '"') {
            if (c === '"') {
                quote = undefined;
            } else if (c === "\\" && i + 1 < text.length && '$`"\\\n'.includes(text[i + 1])) {
                current += text[++i] === "\n" ? "" : text[i];
            } else if (c === "$") {
                const { value, next } = readExpansion(text, i, state);
                current = capped(current + value);
                i = next - 1;
            } else {
                current += c;
            }
        } else if (c === "`") {
            // Old-style command substitution: run what is inside, its output is unknown.
            const close = text.indexOf("`", i + 1);
            const end = close < 0 ? text.length : close;
            if (state.depth < LIMITS.depth && state.budget.commands > 0) {
                const saved = new Map([...state.vars].map(([name, v]) => [name, { ...v }]));
                runScript(text.slice(i + 1, end), state.positional, new Map(), state, state.depth + 1);
                state.vars = saved;
            }
            current = capped(current + UNKNOWN_MARK);
            inWord = true;
            i = end;
        } else if (c === "'" || c === '"') {
            quote = c;
            inWord = true;
        } else if (c === "\\" && i + 1 < text.length) {
            const next = text[++i];
            if (next !== "\n") {
                current += next;
                inWord = true;
            }
        } else if (c === "#" && !inWord) {
            while (i + 1 < text.length && text[i + 1] !== "\n") {
                i++;
            }
        } else if (c === "$") {
            const { value, next } = readExpansion(text, i, state);
            i = next - 1;
            // Unquoted expansion is split into words.
            const parts = value.split(/[ \t\n]+/);
            parts.forEach((part, k) => {
                if (k > 0) {
                    flush();
                }
                current = capped(current + part);
                inWord = inWord || part !== "";
            });
        } else if (c === ">" || c === "<") {
            if (/^\d+$/.test(current)) {
                current = "";
                inWord = false;
            }
            flush();
            while (i + 1 < text.length && (text[i + 1] === ">" || text[i + 1] === "&" || text[i + 1] === "|")) {
                i++;
            }
            tokens.push(REDIRECT);
        } else if (c === ";" || c === "|" || c === "&" || c === "\n" || c === "(" || c === ")") {
            flush();
            if ((c === "&" || c === "|") && text[i + 1] === c) {
                i++;
            }
            tokens.push(SEP);
        } else if (/\s/.test(c)) {
            flush();
        } else {
            current += c;
            inWord = true;
        }
    }
    flush();
    yield* tokens;
}
