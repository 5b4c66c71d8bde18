/** esbuild bundles imported CSS into its own file next to the script (console/build.mjs). */
declare module '*.css';
