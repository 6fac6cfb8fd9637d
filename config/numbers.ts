import { z } from "zod";

/**
 * A whole number within bounds, with one message for every way a value misses (not a number, a
 * fraction, too small, too large), so the error always states the whole rule: "expected a whole
 * number of seconds from 30 to 3600". `unit` names what is counted (seconds, days); omit it for a count.
 */
export function wholeNumber(min: number, max: number, unit?: string) {
    const error = `expected a whole number${unit ? ` of ${unit}` : ""} from ${min} to ${max}`;
    return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}
