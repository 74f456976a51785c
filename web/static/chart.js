// A product's daily price and its average as an SVG line chart, with the numbers as a table
// for screen readers and anyone who wants them.

import { esc, money } from "./api.js";

export function priceChart(summary) {
  const prices = summary.prices;
  const width = 560;
  const height = 180;
  const pad = { left: 56, right: 12, top: 12, bottom: 28 };
  const values = prices.map((p) => p.price).concat([summary.average]);
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (low === high) {
    low = Math.max(0, low - 100);
    high += 100;
  }
  const x = (i) => pad.left + (prices.length === 1 ? 0 : (i * (width - pad.left - pad.right)) / (prices.length - 1));
  const y = (v) => pad.top + ((high - v) * (height - pad.top - pad.bottom)) / (high - low);
  const line = prices.map((p, i) => `${x(i).toFixed(1)},${y(p.price).toFixed(1)}`).join(" ");
  const avg = y(summary.average).toFixed(1);
  const first = prices[0].date;
  const last = prices[prices.length - 1].date;
  const rows = prices
    .map((p) => `<tr><td>${esc(p.date)}</td><td>${esc(money(p.price, summary.currency))}</td></tr>`)
    .join("");
  return `
    <figure class="chart">
      <svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="chart-title">
        <title id="chart-title">Daily price over ${summary.days} days: from ${esc(money(prices[0].price, summary.currency))}
          to ${esc(money(prices[prices.length - 1].price, summary.currency))}, average ${esc(money(summary.average, summary.currency))}</title>
        <line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" class="axis"/>
        <line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" class="axis"/>
        <text x="${pad.left - 6}" y="${y(high) + 4}" text-anchor="end" class="tick">${esc(money(high, summary.currency))}</text>
        <text x="${pad.left - 6}" y="${y(low) + 4}" text-anchor="end" class="tick">${esc(money(low, summary.currency))}</text>
        <text x="${pad.left}" y="${height - 8}" class="tick">${esc(first)}</text>
        <text x="${width - pad.right}" y="${height - 8}" text-anchor="end" class="tick">${esc(last)}</text>
        <line x1="${pad.left}" y1="${avg}" x2="${width - pad.right}" y2="${avg}" class="average"/>
        <polyline points="${line}" class="price"/>
      </svg>
      <figcaption>
        <span class="key price-key">Daily price</span>
        <span class="key average-key">Average ${esc(money(summary.average, summary.currency))}</span>
        <span>Lowest ${esc(money(summary.lowest, summary.currency))}</span>
      </figcaption>
      <details>
        <summary>Prices as a table</summary>
        <table><thead><tr><th scope="col">Date</th><th scope="col">Price</th></tr></thead><tbody>${rows}</tbody></table>
      </details>
    </figure>`;
}
