/** The framework's version, printed by `--version`; a test keeps it equal to packages/framework/package.json. */
export const FRAMEWORK_VERSION = '0.1.0';
