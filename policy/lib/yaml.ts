import { loadAll } from "js-yaml";
import { Budget, LIMITS, toPlain } from "./plain";

/**
 * Parses YAML text (one or more documents) within the resource's budget. js-yaml resolves aliases to
 * shared objects, so a 600-byte "billion laughs" document parses cheaply but expands exponentially when
 * walked; the bounded copy stops at the budget instead. Never throws.
 */
export function parseYaml(text: string, budget: Budget): { docs: unknown[]; error?: string } {
    if (text.length > LIMITS.yamlChars) {
        budget.overflow ??= `YAML text of ${text.length} characters (limit ${LIMITS.yamlChars})`;
        return { docs: [], error: `it is longer than ${LIMITS.yamlChars} characters` };
    }
    const raw: unknown[] = [];
    try {
        loadAll(text, (doc) => {
            raw.push(doc);
        });
    } catch (error) {
        const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
        return { docs: [], error: message };
    }
    const docs = raw.map((doc) => toPlain(doc, budget));
    return budget.overflow ? { docs, error: `it expands beyond the policy pack's budget (${budget.overflow})` } : { docs };
}
