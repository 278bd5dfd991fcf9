/**
 * The dashboard page: plain HTML, one script and one stylesheet, no build step. They are strings here
 * rather than files beside it because the CLI runs from an esbuild bundle (bin/bundle.js), which
 * carries TypeScript modules and nothing else. The script inlines the server-rendered diagram, marks
 * each Graphviz node with its component id (its `<title>`), and on every `snapshot` event sets each
 * node's `data-state` (the stylesheet colours by it) and a badge with the state in words.
 */

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Baton dashboard</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1 id="pipeline">Baton</h1>
  <label>key <select id="key-picker" aria-label="key"></select></label>
  <span id="run"></span>
  <span id="now"></span>
  <span id="connection" data-connection="connecting">connecting…</span>
</header>
<p id="problem" hidden></p>
<section id="legend" aria-label="legend">
  <span data-state="waiting">waiting</span><span data-state="partial">partial n of N</span><span data-state="fired">fired</span>
  <span data-state="done">done</span><span data-state="failed">failed</span><span data-state="stuck">stuck</span><span data-state="dead-letters">dead letters</span>
</section>
<main>
  <section id="diagram" aria-label="topology"></section>
  <section id="phases" aria-label="phases"></section>
  <section aria-label="dead letters">
    <h2>Dead letters <span id="dead-letter-count"></span></h2>
    <p id="redrive-result" role="status"></p>
    <table id="dead-letters"><thead><tr><th>key</th><th>subscription</th><th>type</th><th>reason</th><th>attempts</th><th>at</th><th></th></tr></thead><tbody></tbody></table>
  </section>
</main>
</body>
</html>
`;

export const PAGE_STYLE = `body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2733; background: #fafbfc; }
header { display: flex; gap: 1.2em; align-items: baseline; padding: .6em 1em; background: #1f3b63; color: #fff; flex-wrap: wrap; }
header h1 { font-size: 1.2em; margin: 0; }
#connection[data-connection="live"] { color: #9fe0a8; }
#connection[data-connection="lost"] { color: #ffb4a8; }
#problem { margin: .5em 1em; padding: .4em .8em; background: #fdecea; border: 1px solid #b03a2e; }
#legend { padding: .4em 1em; display: flex; gap: .5em; flex-wrap: wrap; }
#legend span { padding: 0 .5em; border-radius: 3px; border: 1px solid #9aa5b1; }
main { padding: 0 1em 2em; }
#diagram svg { max-width: 100%; height: auto; background: #fff; border: 1px solid #d8dee4; }
#phases { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 36em), 1fr)); gap: 1em; margin-top: 1em; align-items: start; }
#phases > * { min-width: 0; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .2em .5em; border-bottom: 1px solid #e5e9ee; vertical-align: top; overflow-wrap: break-word; }
caption { text-align: left; font-weight: bold; padding: .3em 0; }
td:nth-child(2), td.state { white-space: nowrap; }
[data-state="waiting"] { --fill: #eceff3; --stroke: #8a96a3; }
[data-state="partial"] { --fill: #ffe8a3; --stroke: #b8860b; }
[data-state="fired"], [data-state="done"] { --fill: #bfe8c6; --stroke: #2e7d32; }
[data-state="failed"], [data-state="stuck"] { --fill: #f7c2bb; --stroke: #b03a2e; }
[data-state="dead-letters"] { --fill: #f19c90; --stroke: #8e1b10; }
#legend span[data-state], td.state[data-state] { background: var(--fill); }
g.node[data-state] polygon, g.node[data-state] path, g.node[data-state] ellipse { fill: var(--fill); stroke: var(--stroke); }
g.node text.badge { font: bold 11px system-ui, sans-serif; fill: #1d2733; }
`;

export const PAGE_SCRIPT = `'use strict';
const $ = (id) => document.getElementById(id);
const svgNs = 'http://www.w3.org/2000/svg';
let key = new URLSearchParams(location.search).get('key') || undefined;
let events;
const nodes = new Map();

function cell(row, text, state) {
  const td = row.insertCell();
  td.textContent = text;
  if (state) { td.className = 'state'; td.dataset.state = state; }
  return td;
}

async function loadDiagram() {
  const text = await (await fetch('/diagram.svg')).text();
  const svg = new DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
  $('diagram').replaceChildren(document.importNode(svg, true));
  for (const node of $('diagram').querySelectorAll('g.node')) {
    const id = node.querySelector('title')?.textContent;
    if (!id) continue;
    node.setAttribute('data-component', id);
    const box = node.getBBox();
    const badge = document.createElementNS(svgNs, 'text');
    badge.setAttribute('class', 'badge');
    badge.setAttribute('x', String(box.x + box.width / 2));
    badge.setAttribute('y', String(box.y + box.height + 12));
    badge.setAttribute('text-anchor', 'middle');
    node.appendChild(badge);
    nodes.set(id, { node, badge });
  }
}

function render(snapshot) {
  $('pipeline').textContent = snapshot.pipeline;
  $('run').textContent = snapshot.runId ? 'run ' + snapshot.runId : 'no run journal';
  $('now').textContent = 'now ' + new Date(snapshot.now).toISOString();
  const picker = $('key-picker');
  if ([...picker.options].map((o) => o.value).join('\\n') !== snapshot.keys.join('\\n')) {
    picker.replaceChildren(...snapshot.keys.map((k) => new Option(k, k)));
  }
  if (snapshot.key !== undefined) { key = snapshot.key; picker.value = key; }
  for (const [id, { node, badge }] of nodes) {
    const state = snapshot.components[id];
    if (state) { node.setAttribute('data-state', state.state); node.setAttribute('data-label', state.label); }
    else { node.removeAttribute('data-state'); node.removeAttribute('data-label'); }
    badge.textContent = state ? state.label : '';
  }
  const phases = snapshot.phases.map((phase) => {
    const table = document.createElement('table');
    table.dataset.phase = phase.phase;
    table.createCaption().textContent = phase.phase;
    const head = table.createTHead().insertRow();
    for (const title of ['component', 'kind', 'state', 'detail']) head.appendChild(document.createElement('th')).textContent = title;
    const body = table.createTBody();
    for (const r of phase.rows) {
      const row = body.insertRow();
      row.dataset.component = r.id;
      cell(row, r.name); cell(row, r.kind); cell(row, r.label, r.state); cell(row, r.detail);
    }
    return table;
  });
  $('phases').replaceChildren(...phases);
  $('dead-letter-count').textContent = '(' + snapshot.deadLetters.length + ')';
  const body = $('dead-letters').tBodies[0];
  body.replaceChildren();
  for (const letter of snapshot.deadLetters) {
    const row = body.insertRow();
    row.dataset.deadLetter = letter.id;
    cell(row, letter.key ?? '-'); cell(row, letter.subscription); cell(row, letter.type ?? '-'); cell(row, letter.reason);
    cell(row, String(letter.deliveryAttempts)); cell(row, new Date(letter.at).toISOString());
    if (letter.redriven) {
      cell(row, 'redriven: ' + letter.redriven);
      continue;
    }
    const button = document.createElement('button');
    button.textContent = 'redrive';
    button.addEventListener('click', () => redrive(letter.id, button));
    row.insertCell().appendChild(button);
  }
}

async function redrive(id, button) {
  button.disabled = true;
  const response = await fetch('/api/redrive', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-baton-dashboard': '1' },
    body: JSON.stringify({ id }),
  });
  const answer = await response.json();
  $('redrive-result').textContent = answer.message ?? answer.error;
  button.disabled = false;
}

function connect() {
  events?.close();
  events = new EventSource('/api/events' + (key ? '?key=' + encodeURIComponent(key) : ''));
  const status = $('connection');
  events.addEventListener('open', () => { status.dataset.connection = 'live'; status.textContent = 'live'; });
  events.addEventListener('error', () => { status.dataset.connection = 'lost'; status.textContent = 'reconnecting…'; });
  events.addEventListener('snapshot', (event) => { $('problem').hidden = true; render(JSON.parse(event.data)); });
  events.addEventListener('problem', (event) => { $('problem').hidden = false; $('problem').textContent = JSON.parse(event.data).error; });
}

$('key-picker').addEventListener('change', (event) => {
  key = event.target.value;
  history.replaceState(null, '', '?key=' + encodeURIComponent(key));
  connect();
});
loadDiagram().then(connect, (error) => { $('problem').hidden = false; $('problem').textContent = 'diagram: ' + error.message; connect(); });
`;
