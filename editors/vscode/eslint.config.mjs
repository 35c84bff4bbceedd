import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["out/**", "out-test/**", "node_modules/**", "*.vsix"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
    },
  },
  {
    // node:test's describe/it return promises that the runner awaits
    files: ["test/unit/**/*.ts"],
    rules: { "@typescript-eslint/no-floating-promises": "off" },
  },
  {
    // plain JavaScript: the build script and the end-to-end test (run by node, not bundled)
    files: ["**/*.mjs", "**/*.js"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: "readonly", console: "readonly", setTimeout: "readonly" },
    },
  },
  {
    // the end-to-end driver: CommonJS run by node, with code evaluated in the browser page
    files: ["test/e2e/**/*.js"],
    languageOptions: {
      sourceType: "commonjs",
      globals: { require: "readonly", document: "readonly" },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
