// workerpool's worker script (it must call workerpool.worker at top level).
const workerpool = require("workerpool");
workerpool.worker({ inc: (x) => x + 1 });
