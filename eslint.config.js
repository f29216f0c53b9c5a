// ESLint: the type-aware rules that catch what the compiler does not (a promise nobody awaits,
// an async function where a callback must return at once, a switch that misses a state).
// Formatting is Prettier's (prettier.config.js); import cycles and package boundaries are
// dependency-cruiser's (.dependency-cruiser.cjs). `pnpm lint` runs all three.
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "packages/shared/src/gen/**", "packaging/**/build/**", ".local/**"] },
  {
    files: ["**/*.ts"],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        project: ["./packages/*/tsconfig.json", "./tsconfig.tests.json"],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { "@typescript-eslint": tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["@lockstep/*/*"], message: "Import a package by its name: its src/ is its own." }] },
      ],
    },
  },
);
