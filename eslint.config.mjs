// Lint rules that need no type information, so `npm test` can afford them on every run; `tsc`
// (`npm run typecheck`) is the type-aware check. Formatting is Prettier's job, not ESLint's.
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
    // The red team's corpus is kept byte for byte as its authors wrote it.
    globalIgnores(["**/node_modules/", "**/bin/", ".pulumi/", ".pulumi-state/", "policy/tests/fixtures/redteam/", "policy/tests/fixtures/redteam2/"]),
    js.configs.recommended,
    tseslint.configs.recommended,
    {
        rules: {
            eqeqeq: "error",
            curly: ["error", "multi-line"],
            "no-param-reassign": "error",
            "no-else-return": "error",
            "object-shorthand": "error",
            "prefer-arrow-callback": "error",
            "@typescript-eslint/no-shadow": "error",
            // `import x = require("m")` is a static, typed import that binds the module object itself.
            "@typescript-eslint/no-require-imports": ["error", { allowAsImport: true }],
        },
    },
    {
        // Tests and their harness handle what the engine and the mocks pass around: untyped JSON
        // property bags (`Record<string, any>`), indexed deep in assertions. The program and the
        // policy pack must say what they hold.
        files: ["tests/**/*.ts", "policy/tests/**/*.ts"],
        rules: { "@typescript-eslint/no-explicit-any": "off" },
    },
);
