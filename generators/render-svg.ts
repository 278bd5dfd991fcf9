import { Graphviz } from '@hpcc-js/wasm-graphviz';

/** Renders DOT to SVG offline with Graphviz compiled to WebAssembly (no `dot` binary needed). */
export async function renderSvg(dot: string): Promise<string> {
  const graphviz = await Graphviz.load();
  return graphviz.dot(dot, 'svg');
}
