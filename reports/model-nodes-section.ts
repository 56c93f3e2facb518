/**
 * "Models and ONNX nodes": for each model of the run, which node each set of cases was timed with, with which
 * weights (seeded, or the model's weights file), and which other nodes of the same shape it stands for. Pure.
 */
import { escapeHtml } from './escape.ts';
import { table, text } from './html.ts';
import type { ReportModelNode } from './types.ts';

function weightsText(weights: string): string {
  return weights === 'seeded' ? 'seeded (the agent’s)' : `model weights file ${weights.slice(0, 12)}…`;
}

export function modelNodesSection(nodes: readonly ReportModelNode[]): string {
  const body =
    nodes.length === 0
      ? '<p class="empty">No case of this run names a model.</p>'
      : table(
          'model-nodes-table',
          nodes,
          [
            { title: 'model', cell: (n) => `<span class="mono">${text(n.model)}</span>` },
            {
              title: 'ONNX node timed',
              cell: (n) =>
                n.node === null ? '(built-in table)' : `<span class="mono">${text(n.node)}</span>`,
              className: 'wrap',
            },
            { title: 'weights', cell: (n) => text(weightsText(n.weights)), className: 'wrap' },
            {
              title: 'stands for',
              cell: (n) =>
                n.standsFor.length === 0
                  ? '—'
                  : n.standsFor.map((layer) => `<span class="mono">${text(layer)}</span>`).join(', '),
              className: 'wrap',
            },
            { title: 'cases', cell: (n) => text(n.cases), sort: (n) => n.cases, className: 'num' },
          ],
          true,
        );
  return `<section id="models">
<h2>Models and ONNX nodes</h2>
<p class="note">${escapeHtml(
    'An ONNX model is timed with its own weights; layers of one shape share cases, timed with the first node’s weights (sweep.perLayer times every node).',
  )}</p>
${body}
</section>`;
}
