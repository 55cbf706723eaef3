// What `import "asyncio-ts"` gives under the "browser" export condition (a bundler building for the web).
throw new Error(
  "asyncio-ts needs Node.js (20.19 or later, 22.12 or later): it knows which task runs through V8's promise hooks and uses node: modules, " +
    "which browsers do not have. TC39's AsyncContext proposal would make a browser build possible (docs/design.md, \"Runtimes\").",
);
