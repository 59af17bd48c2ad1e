// Copies the pinned front-end libraries into the Python package's static folder.
// No bundler: the pages load plain files, and the wheel ships them (county networks are often offline).
import { cpSync, mkdirSync, rmSync, existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const out = join(here, "..", "src", "zhixian", "web", "static", "vendor");

const files = {
  "htmx/htmx.min.js": "htmx.org/dist/htmx.min.js",
  "echarts/echarts.min.js": "echarts/dist/echarts.min.js",
  "leaflet/leaflet.js": "leaflet/dist/leaflet.js",
  "leaflet/leaflet.css": "leaflet/dist/leaflet.css",
  "leaflet/images": "leaflet/dist/images",
  "leaflet-heat/leaflet-heat.js": "leaflet.heat/dist/leaflet-heat.js",
  "swagger-ui/swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
  "swagger-ui/swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
};

rmSync(out, { recursive: true, force: true });
for (const [target, source] of Object.entries(files)) {
  const from = join(modules, source);
  if (!existsSync(from)) {
    console.error(`缺少 ${source}：请先在 frontend/ 下运行 npm ci`);
    process.exit(1);
  }
  const to = join(out, target);
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, to, { recursive: true });
}
writeFileSync(join(out, "README.txt"), "Built by frontend/build.mjs from npm packages; do not edit.\n");
console.log(`前端资源已生成：${out}`);
