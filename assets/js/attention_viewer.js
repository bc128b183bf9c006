/* BERT Lens attention viewer: plain JavaScript, no libraries, no network.
 *
 * Reads the JSON in <script id="bl-attn-data"> (written by explain/attention_viewer.py):
 *   shape [L, H, T, T], tokens, layers / heads (model numbers), scale 255,
 *   data[l][h] = base64 of T*T uint8 weights, row-major [query][key],
 *   special, sentence_b_start, initial {layer, head} (indices into layers / heads), theme, notes.
 * Draws (1) every head's T x T map as a thumbnail grid (one putImageData per head, max-pooled
 * when T exceeds the thumbnail size), (2) the selected head large with token labels and a hover
 * tooltip, (3) optionally bertviz-style lines for the selected head.
 * Exposes window.blAttention (state, timings, geometry) for tests.
 */
(function () {
  "use strict";

  var t0 = performance.now();
  var data = JSON.parse(document.getElementById("bl-attn-data").textContent);
  var L = data.shape[0], H = data.shape[1], T = data.shape[2];
  var SCALE = data.scale || 255;
  var MAX_LINES = 4000;
  var tokens = data.tokens;
  var special = data.special || [];
  var bStart = data.sentence_b_start == null ? -1 : data.sentence_b_start;
  var root = document.getElementById("bl-root");
  var $ = function (id) { return document.getElementById(id); };
  // Text in the page's language (explain/attention/viewer.py sends it); {name} fields are filled in.
  var TEXT = data.text || {};
  function say(key, fallback, fields) {
    return String(TEXT[key] || fallback).replace(/\{(\w+)\}/g, function (m, k) {
      return fields && k in fields ? String(fields[k]) : m;
    });
  }
  function headName(l, h) { return say("layer_head", "Layer {layer} \u00b7 head {head}", {layer: data.layers[l], head: data.heads[h]}); }

  // ---- decode: one Uint8Array view per head over a single buffer --------------------------------
  var per = T * T;
  var all = new Uint8Array(L * H * per);
  var weights = [];
  (function decode() {
    var hasFast = typeof Uint8Array.fromBase64 === "function";
    for (var l = 0; l < L; l++) {
      for (var h = 0; h < H; h++) {
        var off = (l * H + h) * per, s = data.data[l][h];
        if (hasFast) {
          all.set(Uint8Array.fromBase64(s), off);
        } else {
          var bin = atob(s);
          for (var i = 0; i < per; i++) all[off + i] = bin.charCodeAt(i);
        }
        weights.push(all.subarray(off, off + per));
      }
    }
    data.data = null; // let the strings go
  })();
  var tDecoded = performance.now();

  // ---- colours: white -> dark blue (ColorBrewer "Blues"), a 256-entry RGBA lookup table -------------
  var STOPS = ["#ffffff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"];
  var littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  function hex(c) { return [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)]; }
  function ramp(x) {
    var p = Math.max(0, Math.min(1, x)) * (STOPS.length - 1), i = Math.min(STOPS.length - 2, Math.floor(p)), f = p - i;
    var a = hex(STOPS[i]), b = hex(STOPS[i + 1]);
    return [0, 1, 2].map(function (k) { return Math.round(a[k] + (b[k] - a[k]) * f); });
  }
  function pack(rgb) {
    return littleEndian ? ((255 << 24) | (rgb[2] << 16) | (rgb[1] << 8) | rgb[0]) >>> 0
                        : ((rgb[0] << 24) | (rgb[1] << 16) | (rgb[2] << 8) | 255) >>> 0;
  }
  var LUTS = {};
  ["linear", "sqrt"].forEach(function (mode) {
    var lut = new Uint32Array(256);
    for (var v = 0; v < 256; v++) lut[v] = pack(ramp(mode === "sqrt" ? Math.sqrt(v / 255) : v / 255));
    LUTS[mode] = lut;
  });

  // ---- state ------------------------------------------------------------------------------------
  var init = data.initial || {};
  var state = {
    layer: Math.min(L - 1, Math.max(0, init.layer | 0)),
    head: Math.min(H - 1, Math.max(0, init.head | 0)),
    scale: "linear",
    lines: T <= 48,
    focusQuery: -1,
  };
  var geo = {}; // layout in CSS pixels, filled by layout()
  var thumbs = []; // ImageData per head at the current thumbnail size
  var timings = { decode_ms: tDecoded - t0 };
  var dpr = Math.max(1, Math.round((window.devicePixelRatio || 1) * 100) / 100);

  // ---- theme: follow the embedding page (Streamlit) when we can read it, else the OS setting ------
  function isDark() {
    if (data.theme === "dark") return true;
    if (data.theme === "light") return false;
    try {
      if (window.parent && window.parent !== window) {
        var doc = window.parent.document;
        var el = doc.querySelector(".stApp") || doc.body;
        var m = getComputedStyle(el).backgroundColor.match(/[\d.]+/g);
        if (m && (m.length < 4 || +m[3] > 0)) return 0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2] < 128;
      }
    } catch (e) { /* cross-origin parent: fall through */ }
    return !!(window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
  }
  if (isDark()) root.classList.add("bl-dark");
  function css(name) { return getComputedStyle(root).getPropertyValue(name).trim(); }

  // ---- controls -----------------------------------------------------------------------------------
  function fillSelect(sel, labels) {
    labels.forEach(function (lab, i) {
      var o = document.createElement("option");
      o.value = String(i);
      o.textContent = String(lab);
      sel.appendChild(o);
    });
  }
  fillSelect($("bl-layer"), data.layers);
  fillSelect($("bl-head"), data.heads);
  $("bl-layer").addEventListener("change", function (e) { select(+e.target.value, state.head); });
  $("bl-head").addEventListener("change", function (e) { select(state.layer, +e.target.value); });
  $("bl-scale").addEventListener("change", function (e) { state.scale = e.target.value; renderThumbs(); drawAll(); drawLegend(); });
  $("bl-lines").checked = state.lines;
  $("bl-lines").addEventListener("change", function (e) { state.lines = e.target.checked; layout(true); });

  function ctx2d(canvas, wCss, hCss) {
    canvas.style.width = wCss + "px";
    canvas.style.height = hCss + "px";
    canvas.width = Math.max(1, Math.round(wCss * dpr));
    canvas.height = Math.max(1, Math.round(hCss * dpr));
    var c = canvas.getContext("2d");
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    return c;
  }
  function font(px, weight) { return (weight || "") + " " + px + "px system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"; }
  function clip(text, ctx, maxW) {
    if (ctx.measureText(text).width <= maxW) return text;
    var s = text;
    while (s.length > 1 && ctx.measureText(s + "\u2026").width > maxW) s = s.slice(0, -1);
    return s + "\u2026";
  }

  function drawLegend() {
    var c = ctx2d($("bl-legend"), 120, 12), lut = LUTS[state.scale];
    for (var x = 0; x < 120; x++) {
      var v = lut[Math.round(x / 119 * 255)];
      var r = littleEndian ? v & 255 : v >>> 24, g = littleEndian ? (v >>> 8) & 255 : (v >>> 16) & 255, b = littleEndian ? (v >>> 16) & 255 : (v >>> 8) & 255;
      c.fillStyle = "rgb(" + r + "," + g + "," + b + ")";
      c.fillRect(x, 0, 1, 12);
    }
    c.strokeStyle = css("--frame");
    c.strokeRect(0.5, 0.5, 119, 11);
  }

  // ---- layout -------------------------------------------------------------------------------------
  var lastWidth = -1;
  function layout(force) {
    var W = Math.max(320, root.clientWidth);
    if (!force && W === lastWidth) return;
    lastWidth = W;
    var tl = performance.now();
    // grid of thumbnails
    var g = { labelW: 40, headerH: 22, gap: 6 };
    g.S = Math.max(16, Math.min(96, Math.floor((W - g.labelW) / H) - g.gap));
    g.Sd = Math.round(g.S * dpr);
    g.w = g.labelW + H * (g.S + g.gap);
    g.h = g.headerH + L * (g.S + g.gap);
    geo.grid = g;
    // large map of the selected head
    var probe = $("bl-map").getContext("2d");
    probe.font = font(12);
    var widest = 0;
    for (var i = 0; i < T; i++) widest = Math.max(widest, probe.measureText(tokens[i]).width);
    var m = { lab: Math.min(120, Math.ceil(widest) + 26) };
    var ln = { lab: Math.min(120, Math.ceil(widest) + 12), rowH: 18, top: 8 };
    var linesMin = 2 * ln.lab + 140 + 48, FLEX_GAP = 28;
    var avail = Math.min(W, 900) - m.lab - 12;
    var besideAvail = W - linesMin - FLEX_GAP - m.lab - 12; // map and lines side by side
    if (state.lines && besideAvail >= Math.min(avail, 12 * T)) avail = Math.min(avail, besideAvail);
    m.c = Math.max(1, Math.min(28, avail / T));
    m.size = m.c * T;
    m.step = Math.max(1, Math.ceil(14 / m.c));
    m.x0 = m.lab; m.y0 = m.lab;
    m.w = m.x0 + m.size + 8; m.h = m.y0 + m.size + 8;
    geo.map = m;
    // lines view
    var room = W - m.w - FLEX_GAP - 2 * ln.lab - 48 - 4; // gap width if the lines fit beside the map
    ln.gapW = room >= 140 ? Math.min(260, room) : Math.max(140, Math.min(260, W - 2 * ln.lab - 52));
    ln.w = 2 * ln.lab + ln.gapW + 48;
    ln.h = ln.top + T * ln.rowH + 8;
    geo.lines = ln;
    $("bl-lines-box").style.display = state.lines ? "" : "none";
    renderThumbs();
    drawAll();
    timings.layout_ms = performance.now() - tl;
  }

  // ---- (1) thumbnails: max-pool T x T into S x S, one ImageData each -----------------------------
  function renderThumbs() {
    var t = performance.now(), g = geo.grid, S = g.Sd, lut = LUTS[state.scale];
    var r0 = new Int32Array(S), r1 = new Int32Array(S);
    for (var p = 0; p < S; p++) {
      var a = Math.floor(p * T / S), b = Math.floor((p + 1) * T / S);
      r0[p] = a; r1[p] = Math.min(T, Math.max(a + 1, b));
    }
    var pooled = new Uint8Array(T * S); // per source row, max over each pixel column's keys
    thumbs = [];
    for (var k = 0; k < L * H; k++) {
      var w = weights[k];
      if (T > S) {
        for (var r = 0; r < T; r++) {
          var base = r * T, outB = r * S;
          for (var px = 0; px < S; px++) {
            var mx = 0;
            for (var c = r0[px], ce = r1[px]; c < ce; c++) { var v = w[base + c]; if (v > mx) mx = v; }
            pooled[outB + px] = mx;
          }
        }
      }
      var img = new ImageData(S, S), out = new Uint32Array(img.data.buffer);
      for (var py = 0; py < S; py++) {
        var row = py * S;
        if (T > S) {
          for (var px2 = 0; px2 < S; px2++) {
            var m2 = 0;
            for (var rr = r0[py], re = r1[py]; rr < re; rr++) { var v2 = pooled[rr * S + px2]; if (v2 > m2) m2 = v2; }
            out[row + px2] = lut[m2];
          }
        } else {
          var srcRow = r0[py] * T;
          for (var px3 = 0; px3 < S; px3++) out[row + px3] = lut[w[srcRow + r0[px3]]];
        }
      }
      thumbs.push(img);
    }
    timings.thumbs_ms = performance.now() - t;
  }

  function drawGrid() {
    var t = performance.now(), g = geo.grid, cv = $("bl-grid");
    var c = ctx2d(cv, g.w, g.h);
    c.fillStyle = css("--fg");
    c.font = font(12, "600");
    c.textAlign = "center"; c.textBaseline = "bottom";
    for (var h = 0; h < H; h++) c.fillText("H" + data.heads[h], g.labelW + h * (g.S + g.gap) + g.S / 2, g.headerH - 5);
    c.textAlign = "right"; c.textBaseline = "middle";
    for (var l = 0; l < L; l++) c.fillText("L" + data.layers[l], g.labelW - 8, g.headerH + l * (g.S + g.gap) + g.S / 2);
    for (var l2 = 0; l2 < L; l2++) {
      for (var h2 = 0; h2 < H; h2++) {
        var x = g.labelW + h2 * (g.S + g.gap), y = g.headerH + l2 * (g.S + g.gap);
        c.putImageData(thumbs[l2 * H + h2], Math.round(x * dpr), Math.round(y * dpr));
      }
    }
    // frames (after the pixels: putImageData ignores the transform and overwrites)
    c.lineWidth = 1;
    c.strokeStyle = css("--frame");
    for (var l3 = 0; l3 < L; l3++) for (var h3 = 0; h3 < H; h3++)
      c.strokeRect(g.labelW + h3 * (g.S + g.gap) - 0.5, g.headerH + l3 * (g.S + g.gap) - 0.5, g.S + 1, g.S + 1);
    var sx = g.labelW + state.head * (g.S + g.gap), sy = g.headerH + state.layer * (g.S + g.gap);
    c.lineWidth = 3;
    c.strokeStyle = css("--accent");
    c.strokeRect(sx - 2.5, sy - 2.5, g.S + 5, g.S + 5);
    timings.grid_ms = performance.now() - t;
  }

  // ---- (2) the selected head, large --------------------------------------------------------------
  var off = document.createElement("canvas");
  function drawMap() {
    var t = performance.now(), m = geo.map, cv = $("bl-map");
    var c = ctx2d(cv, m.w, m.h);
    ctx2d($("bl-map-over"), m.w, m.h);
    off.width = T; off.height = T;
    var oc = off.getContext("2d"), img = oc.createImageData(T, T), out = new Uint32Array(img.data.buffer);
    var w = weights[state.layer * H + state.head], lut = LUTS[state.scale];
    for (var i = 0; i < per; i++) out[i] = lut[w[i]];
    oc.putImageData(img, 0, 0);
    c.imageSmoothingEnabled = false;
    c.drawImage(off, m.x0, m.y0, m.size, m.size);
    c.strokeStyle = css("--frame");
    c.lineWidth = 1;
    c.strokeRect(m.x0 - 0.5, m.y0 - 0.5, m.size + 1, m.size + 1);
    if (bStart > 0) { // sentence A | sentence B
      c.strokeStyle = css("--accent");
      c.setLineDash([4, 3]);
      c.beginPath();
      c.moveTo(m.x0 + bStart * m.c, m.y0 - 6); c.lineTo(m.x0 + bStart * m.c, m.y0 + m.size + 6);
      c.moveTo(m.x0 - 6, m.y0 + bStart * m.c); c.lineTo(m.x0 + m.size + 6, m.y0 + bStart * m.c);
      c.stroke();
      c.setLineDash([]);
    }
    var fs = Math.max(10, Math.min(13, m.c * m.step - 2));
    c.font = font(fs);
    var fg = css("--fg"), muted = css("--muted");
    for (var q = 0; q < T; q += m.step) { // rows: query tokens
      c.fillStyle = special[q] ? muted : fg;
      c.textAlign = "right"; c.textBaseline = "middle";
      c.fillText(clip(tokens[q], c, m.lab - 10), m.x0 - 6, m.y0 + (q + 0.5) * m.c);
    }
    c.save();
    c.translate(m.x0, m.y0 - 6);
    c.rotate(-Math.PI / 2);
    c.textAlign = "left"; c.textBaseline = "middle";
    for (var k = 0; k < T; k += m.step) { // columns: key tokens, read bottom-up
      c.fillStyle = special[k] ? muted : fg;
      c.fillText(clip(tokens[k], c, m.lab - 10), 0, (k + 0.5) * m.c);
    }
    c.restore();
    c.fillStyle = muted;
    c.font = font(11);
    c.textAlign = "left"; c.textBaseline = "top";
    c.fillText(say("axes", "query \u2193  key \u2192"), 4, 4);
    $("bl-title").textContent = headName(state.layer, state.head);
    timings.map_ms = performance.now() - t;
  }

  function drawOverlay(q, k) {
    var m = geo.map, c = $("bl-map-over").getContext("2d");
    c.clearRect(0, 0, m.w, m.h);
    if (q < 0) return;
    // mark the row's and the column's labels (not the cells: a tint would change their colours)
    c.fillStyle = css("--band");
    c.fillRect(0, m.y0 + q * m.c, m.x0 - 1, m.c);
    c.fillRect(m.x0 + k * m.c, 0, m.c, m.y0 - 1);
    c.strokeStyle = css("--accent");
    c.lineWidth = 2;
    c.strokeRect(m.x0 + k * m.c - 1, m.y0 + q * m.c - 1, m.c + 2, m.c + 2);
  }

  // ---- (3) lines view: query tokens left, key tokens right, opacity = weight ----------------------
  function drawLines() {
    if (!state.lines) return;
    var t = performance.now(), ln = geo.lines, cv = $("bl-linescv");
    var c = ctx2d(cv, ln.w, ln.h), w = weights[state.layer * H + state.head];
    var xl = ln.lab, xr = ln.lab + ln.gapW, y = function (i) { return ln.top + (i + 0.5) * ln.rowH; };
    var rgb = css("--line");
    var focus = state.focusQuery;
    // at most MAX_LINES lines, the strongest: stroking is what costs (software rasterising)
    var hist = new Uint32Array(256), q0 = focus >= 0 ? focus : 0, q1 = focus >= 0 ? focus + 1 : T;
    for (var qq = q0; qq < q1; qq++) for (var kk = 0; kk < T; kk++) hist[w[qq * T + kk]]++;
    var minV = 255, kept = 0, total = 0;
    for (var h1 = 1; h1 < 256; h1++) total += hist[h1];
    while (minV > 1 && kept + hist[minV] + hist[minV - 1] <= MAX_LINES) { kept += hist[minV]; minV--; }
    kept += hist[minV];
    $("bl-lines-note").textContent = kept < total
      ? say("lines_note", "Showing the {kept} strongest of {total} lines (weight \u2265 {min}).",
            {kept: kept.toLocaleString(), total: total.toLocaleString(), min: (minV / SCALE).toFixed(3)})
      : "";
    c.lineWidth = kept > 600 ? 1 : 1.6; // 1 px lines rasterise ~5x faster without a GPU
    // 32 opacity levels, one path each: every stroke costs a pass over the path's bounding box
    var LEVELS = 32, paths = new Array(LEVELS);
    for (var q = q0; q < q1; q++) {
      var base = q * T;
      for (var k = 0; k < T; k++) {
        var v = w[base + k];
        if (v < minV) continue;
        var lv = Math.min(LEVELS - 1, Math.floor(v * LEVELS / 256));
        var p = paths[lv] || (paths[lv] = new Path2D());
        p.moveTo(xl, y(q)); p.lineTo(xr, y(k));
      }
    }
    for (var lv2 = 0; lv2 < LEVELS; lv2++) {
      if (!paths[lv2]) continue;
      c.strokeStyle = "rgba(" + rgb + "," + ((lv2 + 0.5) / LEVELS).toFixed(3) + ")";
      c.stroke(paths[lv2]);
    }
    c.font = font(13);
    var fg = css("--fg"), muted = css("--muted");
    c.textBaseline = "middle";
    for (var i = 0; i < T; i++) {
      c.fillStyle = i === focus ? css("--accent") : special[i] ? muted : fg;
      c.textAlign = "right";
      c.fillText(clip(tokens[i], c, ln.lab - 8), xl - 6, y(i));
      c.fillStyle = special[i] ? muted : fg;
      c.textAlign = "left";
      c.fillText(clip(tokens[i], c, ln.lab - 8), xr + 6, y(i));
      if (focus >= 0) {
        c.fillStyle = muted;
        c.font = font(11);
        c.fillText((w[focus * T + i] / SCALE).toFixed(2), xr + ln.lab + 2, y(i));
        c.font = font(13);
      }
    }
    if (bStart > 0) {
      c.strokeStyle = css("--accent");
      c.setLineDash([4, 3]);
      c.beginPath();
      c.moveTo(0, ln.top + bStart * ln.rowH); c.lineTo(xl, ln.top + bStart * ln.rowH);
      c.moveTo(xr, ln.top + bStart * ln.rowH); c.lineTo(ln.w, ln.top + bStart * ln.rowH);
      c.stroke();
      c.setLineDash([]);
    }
    timings.lines_ms = performance.now() - t;
  }

  function drawAll() {
    drawGrid();
    drawMap();
    drawLines();
    $("bl-layer").value = String(state.layer);
    $("bl-head").value = String(state.head);
  }

  function select(l, h) {
    state.layer = l; state.head = h; state.focusQuery = -1;
    drawAll();
    root.dispatchEvent(new CustomEvent("bl-select", { detail: { layer: data.layers[l], head: data.heads[h] } }));
  }

  // ---- pointer: tooltip, thumbnail clicks, query focus in the lines view --------------------------
  var tip = $("bl-tip");
  function showTip(ev, lines) {
    tip.textContent = "";
    lines.forEach(function (s, i) {
      var d = document.createElement("div");
      d.textContent = s;
      if (i === 0) d.className = "bl-tip-head";
      tip.appendChild(d);
    });
    tip.hidden = false;
    var r = root.getBoundingClientRect(), x = ev.clientX - r.left + 14, yy = ev.clientY - r.top + 14;
    var tw = tip.offsetWidth;
    if (x + tw > root.clientWidth) x = Math.max(0, ev.clientX - r.left - tw - 10);
    tip.style.left = x + "px"; tip.style.top = yy + "px";
  }
  function hideTip() { tip.hidden = true; }
  function local(ev, el) { var r = el.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; }
  function thumbAt(x, y) {
    var g = geo.grid, h = Math.floor((x - g.labelW) / (g.S + g.gap)), l = Math.floor((y - g.headerH) / (g.S + g.gap));
    if (h < 0 || l < 0 || h >= H || l >= L) return null;
    if (x - g.labelW - h * (g.S + g.gap) > g.S || y - g.headerH - l * (g.S + g.gap) > g.S) return null;
    return [l, h];
  }
  function fmt(v) { return (v / SCALE).toFixed(3); }
  function tokenName(i) { return "\u201c" + tokens[i] + "\u201d (#" + i + ")"; }

  $("bl-grid").addEventListener("mousemove", function (ev) {
    var p = local(ev, ev.currentTarget), hit = thumbAt(p[0], p[1]);
    ev.currentTarget.style.cursor = hit ? "pointer" : "default";
    if (hit) showTip(ev, [headName(hit[0], hit[1]), say("click", "click to show it large")]);
    else hideTip();
  });
  $("bl-grid").addEventListener("mouseleave", hideTip);
  $("bl-grid").addEventListener("click", function (ev) {
    var p = local(ev, ev.currentTarget), hit = thumbAt(p[0], p[1]);
    if (hit) select(hit[0], hit[1]);
  });

  var over = $("bl-map-over");
  over.addEventListener("mousemove", function (ev) {
    var m = geo.map, p = local(ev, over);
    var k = Math.floor((p[0] - m.x0) / m.c), q = Math.floor((p[1] - m.y0) / m.c);
    if (q < 0 || k < 0 || q >= T || k >= T) { hideTip(); drawOverlay(-1); return; }
    drawOverlay(q, k);
    var v = weights[state.layer * H + state.head][q * T + k];
    showTip(ev, [
      headName(state.layer, state.head),
      say("query", "query: {token}", {token: tokenName(q)}),
      say("key", "key: {token}", {token: tokenName(k)}),
      say("weight", "weight: {value}", {value: fmt(v)}),
    ]);
  });
  over.addEventListener("mouseleave", function () { hideTip(); drawOverlay(-1); });

  $("bl-linescv").addEventListener("mousemove", function (ev) {
    var ln = geo.lines, p = local(ev, ev.currentTarget);
    var q = Math.floor((p[1] - ln.top) / ln.rowH);
    var f = p[0] < ln.lab && q >= 0 && q < T ? q : -1;
    if (f !== state.focusQuery) { state.focusQuery = f; drawLines(); }
  });
  $("bl-linescv").addEventListener("mouseleave", function () {
    if (state.focusQuery !== -1) { state.focusQuery = -1; drawLines(); }
  });

  // ---- start ---------------------------------------------------------------------------------------
  drawLegend();
  layout(true);
  timings.first_draw_ms = performance.now() - tDecoded;
  timings.total_ms = performance.now() - t0;
  if (typeof ResizeObserver === "function") {
    var pending = false;
    new ResizeObserver(function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; layout(false); });
    }).observe(root);
  }

  window.blAttention = {
    ready: true,
    shape: data.shape,
    timings: timings,
    state: function () { return { layer: data.layers[state.layer], head: data.heads[state.head], scale: state.scale }; },
    select: function (layerNo, headNo) { select(data.layers.indexOf(layerNo), data.heads.indexOf(headNo)); },
    // page (client) coordinates of a thumbnail's and a map cell's centre, for tests
    thumbCenter: function (layerNo, headNo) {
      var g = geo.grid, r = $("bl-grid").getBoundingClientRect();
      var l = data.layers.indexOf(layerNo), h = data.heads.indexOf(headNo);
      return [r.left + g.labelW + h * (g.S + g.gap) + g.S / 2, r.top + g.headerH + l * (g.S + g.gap) + g.S / 2];
    },
    cellCenter: function (q, k) {
      var m = geo.map, r = over.getBoundingClientRect();
      return [r.left + m.x0 + (k + 0.5) * m.c, r.top + m.y0 + (q + 0.5) * m.c];
    },
    redrawAll: function () { var t = performance.now(); renderThumbs(); drawAll(); return performance.now() - t; },
  };
  root.setAttribute("data-ready", "1");
})();
