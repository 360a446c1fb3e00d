// Deterministic, minified build of the editor bundle + the vendored htmx.
// Usage: node build.mjs [OUTDIR]   (default: ../src/tynebase/web/static)
import { build } from 'esbuild'
import { copyFile, mkdir } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const outdir = path.resolve(process.argv[2] || path.join(here, '..', 'src', 'tynebase', 'web', 'static'))
await mkdir(path.join(outdir, 'vendor'), { recursive: true })
await build({
  absWorkingDir: here,
  entryPoints: ['src/editor.js'],
  outfile: path.join(outdir, 'editor.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  legalComments: 'none',
  charset: 'utf8',
  sourcemap: false,
  logLevel: 'warning'
})
await copyFile(path.join(here, 'node_modules', 'htmx.org', 'dist', 'htmx.min.js'),
  path.join(outdir, 'vendor', 'htmx.min.js'))
