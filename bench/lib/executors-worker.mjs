// Task functions for the executors benchmark: a module every pool can load (Piscina and tinypool call
// the default export; asyncio-ts names exports with moduleFunction()).
export function inc(x) {
  return x + 1;
}
export function cpu(n) {
  let a = 0;
  for (let i = 0; i < n; i++) a = (a + i * i) % 1000003;
  return a;
}
export default inc;
