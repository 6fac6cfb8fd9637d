import { Unknown, isUnknown } from "./plain";

/**
 * Splits a flag string (`BUILDKITD_FLAGS`, a chart's `daemonArgs`, a supervisor's command line) into
 * words: whitespace separates words, quotes group them, and `;`, `&&`, `||`, `|`, `&` and newlines
 * become separate tokens so a flag never leaks from one command into the next. Nothing is expanded
 * or run: scripts go through the interpreter in ./shell.ts, which also expands variables and follows
 * heredocs, substitutions and sourced files.
 */
export function shellWords(line: string): string[] {
    const words: string[] = [];
    let current = "";
    let quote: string | undefined;
    let inWord = false;
    const flush = () => {
        if (inWord) {
            words.push(current);
        }
        current = "";
        inWord = false;
    };
    for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (quote) {
            if (c === quote) {
                quote = undefined;
            } else if (c === "\\" && quote === '"' && i + 1 < line.length) {
                current += line[++i];
            } else {
                current += c;
            }
        } else if (c === '"' || c === "'") {
            quote = c;
            inWord = true;
        } else if (c === "\\" && i + 1 < line.length) {
            const next = line[++i];
            if (next !== "\n") {
                current += next;
                inWord = true;
            }
        } else if (c === ";" || c === "|" || c === "&" || c === "\n") {
            flush();
            const two = line.slice(i, i + 2);
            if (two === "&&" || two === "||") {
                i++;
            }
            words.push(SEPARATOR);
        } else if (/\s/.test(c)) {
            flush();
        } else {
            current += c;
            inWord = true;
        }
    }
    flush();
    return words;
}

/** Token that ends one shell command inside a tokenised command line. */
export const SEPARATOR = "\u0000;";

/**
 * Values of one command-line flag in Go `flag`/urfave-cli style: `--name value`, `--name=value`,
 * `-name value`, `-name=value`. A flag followed by an unknown token yields UNKNOWN.
 */
export function flagValues(tokens: (string | Unknown)[], name: string): (string | Unknown)[] {
    const values: (string | Unknown)[] = [];
    for (let i = 0; i < tokens.length; i++) {
        const token = tokens[i];
        if (isUnknown(token)) {
            continue;
        }
        for (const prefix of [`--${name}`, `-${name}`]) {
            if (token === prefix) {
                const next = tokens[i + 1];
                values.push(next === undefined || next === SEPARATOR ? "" : next);
            } else if (token.startsWith(`${prefix}=`)) {
                values.push(token.slice(prefix.length + 1));
            }
        }
    }
    return values;
}

/** True for a gRPC/BuildKit address that is plain TCP (scheme `tcp://`, any case). */
export function isTcpAddress(address: string): boolean {
    return /^\s*tcp:\/\//i.test(address);
}
