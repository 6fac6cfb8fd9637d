import { UNKNOWN, Unknown, isUnknown } from "./plain";

/**
 * Splits a command line the way a POSIX shell would for our purposes: whitespace separates words,
 * quotes group them, and `;`, `&&`, `||`, `|`, `&` and newlines become separate tokens so a flag
 * never leaks from one command into the next (`sh -c "buildkitd --addr ... && buildctl ..."`).
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
 * Tokens of a container's `command` followed by `args`. Unknown elements become UNKNOWN tokens;
 * non-string elements are ignored (Kubernetes would reject them anyway).
 */
export function commandTokens(command: unknown, args: unknown): (string | Unknown)[] {
    const tokens: (string | Unknown)[] = [];
    for (const part of [command, args]) {
        if (isUnknown(part)) {
            tokens.push(UNKNOWN);
            continue;
        }
        if (!Array.isArray(part)) {
            continue;
        }
        for (const element of part) {
            if (isUnknown(element)) {
                tokens.push(UNKNOWN);
            } else if (typeof element === "string") {
                tokens.push(...shellWords(element));
            }
        }
    }
    return tokens;
}

/** `/usr/bin/buildkitd` -> `buildkitd`. */
export function basename(token: string): string {
    return token.slice(token.lastIndexOf("/") + 1);
}

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
