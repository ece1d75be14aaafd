export { three as two } from "./three.js";
