// Renders a .cascade file to HTML with the VS Code grammar and a VS Code theme (shiki):
//   npm install shiki@4 && node render-vscode.mjs ../vscode/syntaxes/cascade.tmLanguage.json FILE.cascade dark-plus out.html
// then, e.g.: chromium --headless --screenshot=out.png --window-size=860,745 out.html
import { createHighlighter } from 'shiki';
import fs from 'node:fs';
const [grammarPath, sourcePath, theme, out] = process.argv.slice(2);
const grammar = JSON.parse(fs.readFileSync(grammarPath, 'utf8'));
const highlighter = await createHighlighter({
  themes: [theme],
  langs: [{ ...grammar, name: 'cascade', scopeName: 'source.cascade' }],
});
const code = fs.readFileSync(sourcePath, 'utf8').replace(/\n$/, '');
const html = highlighter.codeToHtml(code, { lang: 'cascade', theme });
fs.writeFileSync(out, `<!doctype html><html><head><meta charset="utf-8"><style>
body { margin: 0; background: #1e1e1e; }
pre.shiki { margin: 0; padding: 14px 18px; font: 13px/1.45 'DejaVu Sans Mono', monospace; }
</style></head><body>${html}</body></html>`);
