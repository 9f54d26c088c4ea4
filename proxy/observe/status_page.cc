// GET /: the status report as one self-contained page. The server renders every number, table
// and chart, so the page reads with scripts off; the one inline script fetches /status.json
// every 5 s and redraws the same elements with the same formatting rules (humanBytes, ratios).
// Elements carrying a value have data-k="<json path>", which the script and the tests key on.
#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <tuple>

#include "base/time_format.h"
#include "proxy/observe/status_report.h"

namespace regcache::proxy {

namespace {

std::string escapeHtml(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string utcText(std::chrono::system_clock::time_point at) {
  return formatUtcTime(at, "%Y-%m-%d %H:%M:%SZ");
}

// A value the script refreshes: `key` is its path in /status.json, `kind` how it is written
// ("n" number, "b" bytes, "r" hit ratio of the hits/misses next to `key`, "t" text).
std::string value(std::string_view key, std::string_view kind, const std::string &text) {
  return fmt::format("<b data-k=\"{}\" data-f=\"{}\">{}</b>", key, kind, escapeHtml(text));
}

// Two series over the minutes as polylines in a 600x100 box, scaled to their common maximum.
std::string chart(const std::string &id, const std::vector<CounterSample> &minutes, bool bytes) {
  std::uint64_t top = 1;
  for (const auto &m : minutes) {
    top =
        std::max({top, bytes ? m.bytesFromCache : m.hits, bytes ? m.bytesFromUpstream : m.misses});
  }
  auto points = [&](bool first) {
    std::string out;
    for (std::size_t i = 0; i < minutes.size(); ++i) {
      const auto &m = minutes[i];
      std::uint64_t v =
          bytes ? (first ? m.bytesFromCache : m.bytesFromUpstream) : (first ? m.hits : m.misses);
      double x = minutes.size() < 2
                     ? 600.0
                     : 600.0 * static_cast<double>(i) / static_cast<double>(minutes.size() - 1);
      double y = 100.0 - 95.0 * static_cast<double>(v) / static_cast<double>(top);
      // One minute so far: a level line across the chart rather than an invisible point.
      if (minutes.size() == 1) out += fmt::format("0.0,{:.1f} ", y);
      out += fmt::format("{}{:.1f},{:.1f}", i == 0 ? "" : " ", x, y);
    }
    return out;
  };
  return fmt::format("<svg id=\"{}\" viewBox=\"0 0 600 100\" preserveAspectRatio=\"none\" "
                     "role=\"img\"><polyline class=\"s1\" points=\"{}\"/><polyline class=\"s2\" "
                     "points=\"{}\"/></svg><p class=\"legend\"><i class=\"s1\"></i>{} "
                     "<i class=\"s2\"></i>{} (per minute, max {})</p>",
                     id, points(true), points(false), bytes ? "from cache" : "hits",
                     bytes ? "from upstream" : "misses",
                     bytes ? humanBytes(top) : std::to_string(top));
}

std::string repositoryRows(const std::vector<RepositoryPulls> &repos) {
  std::string out;
  for (const auto &r : repos) {
    out += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                       escapeHtml(r.name), r.pulls, humanBytes(r.bytes));
  }
  return out.empty() ? "<tr><td colspan=\"3\">none yet</td></tr>" : out;
}

std::string fillRows(const std::vector<FillStatus> &fills) {
  std::string out;
  for (const auto &f : fills) {
    std::string bar = f.size != 0 ? fmt::format("<progress value=\"{}\" max=\"{}\"></progress>",
                                                f.written, f.size)
                                  : "<progress></progress>";
    out += fmt::format("<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"num\">{} of {}</td>"
                       "<td class=\"num\">{}/s</td><td class=\"num\">{}</td></tr>",
                       escapeHtml(f.digest.substr(0, 19)), bar, humanBytes(f.written),
                       f.size != 0 ? humanBytes(f.size) : std::string("?"),
                       humanBytes(f.bytesPerSecond), f.readers);
  }
  return out.empty() ? "<tr><td colspan=\"5\">no fill in progress</td></tr>" : out;
}

std::string registryRows(const std::vector<RegistryPulls> &registries) {
  std::string out;
  for (const auto &r : registries) {
    out += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                       "<td class=\"num\">{}</td><td>{}</td></tr>",
                       escapeHtml(r.registry), r.pulls, r.pullsSaved,
                       r.rateLimitRemaining ? std::to_string(*r.rateLimitRemaining) : "-",
                       r.rateLimitRemaining ? utcText(r.rateLimitSeenAt) : "-");
  }
  return out.empty() ? "<tr><td colspan=\"5\">no pull yet</td></tr>" : out;
}

std::string errorRows(const CounterSample &hour) {
  std::string out;
  for (std::size_t k = 0; k < hour.upstreamErrors.size(); ++k) {
    std::string kind(labelOf(static_cast<UpstreamError>(k)));
    out += fmt::format(
        "<tr><td>{}</td><td class=\"num\">{}</td></tr>", kind,
        value("last_hour.upstream_errors." + kind, "n", std::to_string(hour.upstreamErrors[k])));
  }
  return out;
}

std::string caRows(const std::vector<CaGenerationStatus> &generations) {
  std::string out;
  for (const auto &g : generations) {
    out +=
        fmt::format("<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", g.number,
                    g.state, utcText(g.activateAt), g.retireAt ? utcText(*g.retireAt) : "-");
  }
  return out;
}

constexpr std::string_view kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0}h2{font-size:1.05em;margin:0 0 .5em}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1em;margin-top:1em}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.8em 1em}
table{border-collapse:collapse;width:100%}td,th{padding:2px 6px;text-align:left;border-bottom:1px solid #eee}
.num{text-align:right;font-variant-numeric:tabular-nums}.mono{font-family:monospace}
.big b{font-size:1.6em}.muted{color:#777}svg{width:100%;height:100px;background:#f4f6f8}
polyline{fill:none;stroke-width:2;vector-effect:non-scaling-stroke}
polyline.s1{stroke:#2a7}polyline.s2{stroke:#d62}
i.s1,i.s2{display:inline-block;width:10px;height:10px;margin:0 4px}i.s1{background:#2a7}i.s2{background:#d62}
.legend{margin:.2em 0;color:#555;font-size:.9em}progress{width:100%}
)";

// Redraws every data-k value, the tables and the charts from /status.json. Kept in step with the
// C++ above: same formats (bytes, ratio), same row shapes.
constexpr std::string_view kScript = R"(
(function(){
function hb(n){if(n<1024)return n+' B';var u=['KiB','MiB','GiB','TiB'],v=n/1024,i=0;
while(v>=1024&&i<u.length-1){v/=1024;i++}return v.toFixed(1)+' '+u[i]}
function ratio(h,m){return h+m===0?'-':(100*h/(h+m)).toFixed(1)+'%'}
function get(o,p){return p.split('.').reduce(function(a,k){return a==null?a:a[k]},o)}
function esc(s){return String(s).replace(/[&<>"']/g,function(c){return '&#'+c.charCodeAt(0)+';'})}
function utc(s){return s?s.replace('T',' '):'-'}
function rows(id,list,f,empty,cols){var t=document.getElementById(id);
t.innerHTML=list.length?list.map(f).join(''):'<tr><td colspan="'+cols+'">'+empty+'</td></tr>'}
function chart(id,ms,a,b){var top=1;ms.forEach(function(m){top=Math.max(top,m[a],m[b])});
var svg=document.getElementById(id),pl=svg.querySelectorAll('polyline');
[a,b].forEach(function(k,j){pl[j].setAttribute('points',ms.map(function(m,i){
var x=ms.length<2?600:600*i/(ms.length-1),y=(100-95*m[k]/top).toFixed(1);
return (ms.length===1?'0.0,'+y+' ':'')+x.toFixed(1)+','+y}).join(' '))});}
function draw(d){
document.querySelectorAll('[data-k]').forEach(function(e){var k=e.dataset.k,f=e.dataset.f,v;
if(f==='r'){var p=get(d,k.replace(/\.hit_ratio$/,''));v=ratio(p.hits,p.misses)}
else{v=get(d,k);v=f==='b'?hb(v):f==='t'?utc(v):String(v)}e.textContent=v});
rows('registries',d.registries,function(r){return '<tr><td>'+esc(r.registry)+'</td><td class="num">'+
r.pulls+'</td><td class="num">'+r.pulls_saved+'</td><td class="num">'+(r.ratelimit_remaining==null?'-':
r.ratelimit_remaining)+'</td><td>'+utc(r.ratelimit_seen_at)+'</td></tr>'},'no pull yet',5);
['top_by_pulls','top_by_bytes'].forEach(function(id){rows(id,d[id],function(r){return '<tr><td>'+
esc(r.repository)+'</td><td class="num">'+r.pulls+'</td><td class="num">'+hb(r.bytes)+'</td></tr>'},
'none yet',3)});
rows('fills',d.fills,function(f){return '<tr><td class="mono">'+esc(f.digest.slice(0,19))+'</td><td>'+
(f.size_bytes?'<progress value="'+f.written_bytes+'" max="'+f.size_bytes+'"></progress>':'<progress></progress>')+
'</td><td class="num">'+hb(f.written_bytes)+' of '+(f.size_bytes?hb(f.size_bytes):'?')+
'</td><td class="num">'+hb(f.bytes_per_second)+'/s</td><td class="num">'+f.readers+'</td></tr>'},
'no fill in progress',5);
chart('chart-hits',d.per_minute,'hits','misses');
chart('chart-bytes',d.per_minute,'bytes_from_cache','bytes_from_upstream');
document.body.dataset.refreshed=(+document.body.dataset.refreshed||0)+1;}
function tick(){fetch('/status.json',{cache:'no-store'}).then(function(r){return r.json()})
.then(draw).catch(function(){}).then(function(){setTimeout(tick,5000)})}
tick();})();
)";

} // namespace

std::string renderStatusHtml(const StatusReport &r) {
  const CounterSample &all = r.sinceStart;
  const CounterSample &hour = r.lastHour;
  std::string minutesLeft = std::to_string(r.perMinute.size());
  std::string out;
  out += "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width\"><title>regcache status</title>"
         "<style>";
  out += kStyle;
  out += "</style></head><body>";
  out += fmt::format("<h1>regcache</h1><p class=\"muted\">{} ({}, {}) &middot; started {} "
                     "&middot; page data from {}</p>",
                     value("build.version", "t", r.build.version), escapeHtml(r.build.git),
                     escapeHtml(r.build.buildType), utcText(r.startedAt),
                     value("generated_at", "t", formatUtcTime(r.now, "%Y-%m-%dT%H:%M:%SZ")));
  out += "<div class=\"grid\">";

  out += "<section><h2>Hit ratio</h2><table><tr><th></th><th class=\"num\">since start</th>"
         "<th class=\"num\">last hour</th></tr>";
  out += fmt::format("<tr class=\"big\"><td>hit ratio</td><td class=\"num\">{}</td>"
                     "<td class=\"num\">{}</td></tr>",
                     value("since_start.hit_ratio", "r", hitRatioText(all.hits, all.misses)),
                     value("last_hour.hit_ratio", "r", hitRatioText(hour.hits, hour.misses)));
  for (auto [label, key, a, b] : {std::tuple{"hits", "hits", all.hits, hour.hits},
                                  std::tuple{"misses", "misses", all.misses, hour.misses}}) {
    out += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                       label, value(std::string("since_start.") + key, "n", std::to_string(a)),
                       value(std::string("last_hour.") + key, "n", std::to_string(b)));
  }
  out += "</table>" + chart("chart-hits", r.perMinute, false) + "</section>";

  out += "<section><h2>Bytes served</h2><table><tr><th></th><th class=\"num\">since start</th>"
         "<th class=\"num\">last hour</th></tr>";
  for (auto [label, key, a, b] :
       {std::tuple{"from cache", "bytes_from_cache", all.bytesFromCache, hour.bytesFromCache},
        std::tuple{"from upstream", "bytes_from_upstream", all.bytesFromUpstream,
                   hour.bytesFromUpstream}}) {
    out += fmt::format("<tr class=\"big\"><td>{}</td><td class=\"num\">{}</td>"
                       "<td class=\"num\">{}</td></tr>",
                       label, value(std::string("since_start.") + key, "b", humanBytes(a)),
                       value(std::string("last_hour.") + key, "b", humanBytes(b)));
  }
  out += "</table>" + chart("chart-bytes", r.perMinute, true) + "</section>";

  out += fmt::format("<section><h2>Pulls saved</h2><p class=\"big\">Against Docker Hub's limit: "
                     "{} pulls answered from the cache</p><table><thead><tr><th>registry</th>"
                     "<th class=\"num\">pulls</th><th class=\"num\">saved</th>"
                     "<th class=\"num\">ratelimit-remaining</th><th>seen</th></tr></thead>"
                     "<tbody id=\"registries\">{}</tbody></table></section>",
                     value("docker_hub_pulls_saved", "n", std::to_string(r.dockerHubPullsSaved)),
                     registryRows(r.registries));

  out += fmt::format("<section><h2>Fills in progress</h2><table><thead><tr><th>digest</th>"
                     "<th style=\"width:30%\">progress</th><th class=\"num\">bytes</th>"
                     "<th class=\"num\">rate</th><th class=\"num\">readers</th></tr></thead>"
                     "<tbody id=\"fills\">{}</tbody></table></section>",
                     fillRows(r.fills));

  for (auto [title, id, list] :
       {std::tuple{"Top repositories by pulls", "top_by_pulls", &r.topByPulls},
        std::tuple{"Top repositories by bytes", "top_by_bytes", &r.topByBytes}}) {
    out += fmt::format("<section><h2>{}</h2><table><thead><tr><th>repository</th>"
                       "<th class=\"num\">pulls</th><th class=\"num\">bytes</th></tr></thead>"
                       "<tbody id=\"{}\">{}</tbody></table></section>",
                       title, id, repositoryRows(*list));
  }

  out += "<section><h2>Upstream errors, last hour</h2><table>" + errorRows(hour) +
         "</table></section>";

  std::string limit = r.cacheLimit != 0 ? humanBytes(r.cacheLimit) : std::string("none");
  std::string bar = r.cacheLimit != 0 ? fmt::format("<progress value=\"{}\" max=\"{}\"></progress>",
                                                    r.cacheBytes, r.cacheLimit)
                                      : std::string();
  out += fmt::format(
      "<section><h2>Cache</h2><p class=\"big\">{} of {} ({} blobs)</p>{}<p>Evicted in the last "
      "hour: {} blobs, {}</p><p class=\"muted\">{}</p></section>",
      value("cache.bytes", "b", humanBytes(r.cacheBytes)), limit,
      value("cache.blobs", "n", std::to_string(r.cacheBlobs)), bar,
      value("last_hour.evicted_blobs", "n", std::to_string(hour.evictedBlobs)),
      value("last_hour.evicted_bytes", "b", humanBytes(hour.evictedBytes)),
      r.cacheEnabled ? "" : "the cache is off: everything passes through");

  out += fmt::format("<section><h2>CA</h2><table><tr><th class=\"num\">generation</th>"
                     "<th>state</th><th>signs from</th><th>retires</th></tr>{}</table>"
                     "<p>Next rotation step: {}</p></section>",
                     caRows(r.caGenerations),
                     r.nextCaTransition ? utcText(*r.nextCaTransition) : std::string("none"));

  out += "</div><p class=\"muted\">Refreshed from <a href=\"/status.json\">/status.json</a> "
         "every 5 s while scripts run; <a href=\"/metrics\">/metrics</a> for Prometheus. "
         "Minutes in the charts: " +
         minutesLeft + ".</p><script>";
  out += kScript;
  out += "</script></body></html>\n";
  return out;
}

} // namespace regcache::proxy
