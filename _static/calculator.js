/*
 * 메모리 계산기 (book/calculator.md): chapter 3's estimator (ftcourse/memory.py) ported to the browser.
 *
 * Every number it uses comes from the JSON the page wrote at build time (ftcourse/calculator.py,
 * element #ftc-data): the architectures, the estimator's constants, the GPUs, the lab-1 defaults and the
 * colours. The functions below follow ftcourse.memory and ftcourse.peft_counts line by line (same names in
 * camelCase); tests/test_calculator.py compares them with the Python on a grid of inputs. All byte counts
 * are integers far below 2**53, so JavaScript's doubles hold them exactly, as Python's ints do.
 */
(function () {
  "use strict";

  var PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
  var ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"];

  // ftcourse.peft_counts ---------------------------------------------------------------------------
  function kvDim(m) {
    return m.num_key_value_heads * m.head_dim;
  }

  function linearShapes(m) {
    var d = m.hidden_size, f = m.intermediate_size, q = m.num_attention_heads * m.head_dim, kv = kvDim(m);
    return {
      q_proj: [d, q], k_proj: [d, kv], v_proj: [d, kv], o_proj: [q, d],
      gate_proj: [d, f], up_proj: [d, f], down_proj: [f, d]
    };
  }

  function loraParamCount(m, r) {
    var shapes = linearShapes(m), perLayer = 0;
    PROJECTIONS.forEach(function (p) { perLayer += r * (shapes[p][0] + shapes[p][1]); });
    return m.num_hidden_layers * perLayer;
  }

  // ftcourse.memory --------------------------------------------------------------------------------
  function baseWeightBytes(m, in4bit, C) {
    var shapes = linearShapes(m), h = m.hidden_size, L = m.num_hidden_layers, perLayer = 0;
    PROJECTIONS.forEach(function (p) { perLayer += shapes[p][0] * shapes[p][1]; });
    var linear = L * perLayer;
    var embed = m.vocab_size * h * (m.tie_word_embeddings ? 1 : 2);
    var norms = (2 * L + 1) * h;
    if (m.model_type === "qwen3") norms += 2 * L * m.head_dim;
    if (!in4bit) return 2 * (linear + embed + norms);
    var kept = m.kept16_linear_params;
    return Math.trunc((linear - kept) * C.NF4_BYTES) + 2 * (kept + embed + norms);
  }

  function nParams(m, C) {
    return baseWeightBytes(m, false, C) / 2;
  }

  function loraStateBytes(loraParams, C) {
    return Math.trunc(loraParams * (C.LORA_BYTES + 2 * 4 / C.ADAMW_8BIT_BLOCKSIZE));
  }

  function logitsBytes(m, b, s, bytesPerValue) {
    return s * b * m.vocab_size * bytesPerValue;
  }

  function activationBytesPerLayer(s, b, h, a) {
    return s * b * h * 34 + 5 * a * s * s * b;
  }

  function activationBytes(m, b, s) {  // no checkpointing: every layer keeps its activations
    return m.num_hidden_layers * activationBytesPerLayer(s, b, m.hidden_size, m.num_attention_heads);
  }

  function stepPeak(m, b, s, weights, states, actBytes, dequantize4bit, offload, C) {
    var h = m.hidden_size, f = m.intermediate_size, L = m.num_hidden_layers;
    var tokens = b * s;
    var hidden = actBytes * tokens * h;
    var atLoss = logitsBytes(m, b, s, C.LOGIT_BYTES) + 2 * hidden;
    var recompute = Math.floor(activationBytesPerLayer(s, b, h, 0) * actBytes / 2);
    var shapes = linearShapes(m), largest = 0;
    PROJECTIONS.forEach(function (p) { largest = Math.max(largest, shapes[p][0] * shapes[p][1]); });
    return {
      weights: weights,
      trainable_states: states,
      activations: (offload ? 3 : L) * hidden,
      transient: Math.max(atLoss, recompute),
      workspace: 3 * actBytes * tokens * f + (dequantize4bit ? 2 * largest : 0)
    };
  }

  // ftcourse.calculator.estimate --------------------------------------------------------------------
  function estimate(data, inputs) {
    var C = data.constants;
    var m = data.models.filter(function (x) { return x.name === inputs.model; })[0];
    if (!m) throw new Error("unknown model " + inputs.model);
    var b = inputs.batch_size, s = inputs.seq_len, offload = inputs.checkpointing === "unsloth", peak;
    if (inputs.method === "full") {
      var R = C.MIXED_ADAMW, n = nParams(m, C);
      peak = stepPeak(m, b, s, n * R.weights, n * (R.gradients + R.optimizer_states + R.master_weights),
                      R.weights === 4 ? 4 : 2, false, offload, C);
    } else {
      var in4bit = inputs.method === "qlora";
      peak = stepPeak(m, b, s, baseWeightBytes(m, in4bit, C), loraStateBytes(loraParamCount(m, inputs.r), C),
                      2, in4bit, offload, C);
    }
    if (inputs.checkpointing === "none") peak.activations = activationBytes(m, b, s);
    peak.total = peak.weights + peak.trainable_states + peak.activations + peak.transient + peak.workspace;
    return peak;
  }

  function verdict(data, total, gpu) {
    var room = gpu.compared_bytes;
    if (total > room) return "no";
    return total * (1 + data.constants.ESTIMATE_TOLERANCE) > room ? "tight" : "fits";
  }

  // the page ---------------------------------------------------------------------------------------
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function gib(bytes, C) {
    return (bytes / C.GIB).toFixed(2);
  }

  function field(form, label, control) {
    var wrap = el("label", {"class": "ft-field"});
    wrap.appendChild(el("span", {}, label));
    wrap.appendChild(control);
    form.appendChild(wrap);
    return control;
  }

  function select(id, options) {
    var s = el("select", {id: id});
    options.forEach(function (o) { s.appendChild(el("option", {value: o[0]}, o[1])); });
    return s;
  }

  function number(id, min, max, step) {
    return el("input", {id: id, type: "number", min: String(min), max: String(max), step: String(step)});
  }

  function build(root, data) {
    var C = data.constants;
    var form = el("form", {"class": "ft-form", id: "ftc-form"});
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    var controls = {
      model: field(form, "모델", select("ftc-model", data.models.map(function (m) { return [m.name, m.name]; }))),
      method: field(form, "방법", select("ftc-method", Object.keys(data.methods).map(function (k) {
        return [k, data.methods[k]];
      }))),
      r: field(form, "LoRA 랭크 r", number("ftc-r", 1, 1024, 1)),
      batch_size: field(form, "배치 크기", number("ftc-batch", 1, 256, 1)),
      seq_len: field(form, "시퀀스 길이(토큰)", number("ftc-seq", 1, 131072, 1)),
      checkpointing: field(form, "활성화 체크포인팅", select("ftc-ckpt", Object.keys(data.checkpointing).map(function (k) {
        return [k, data.checkpointing[k]];
      }))),
      gpu: field(form, "GPU", select("ftc-gpu", data.gpus.map(function (g) { return [g.key, g.name]; })))
    };
    var reset = el("button", {type: "button", id: "ftc-reset", "class": "ft-button"}, "실습 1 레시피(T4)로 되돌리기");
    form.appendChild(reset);
    root.appendChild(form);

    var out = el("div", {"class": "ft-output", id: "ftc-output", "aria-live": "polite"});
    var verdictLine = el("p", {id: "ftc-verdict", "class": "ft-verdict"});
    var totalLine = el("p", {"class": "ft-total"});
    var bar = el("div", {"class": "ft-bar", id: "ftc-bar", role: "img"});
    var table = el("table", {"class": "ft-table", id: "ftc-table"});
    var head = el("tr");
    ["항목", "GiB", "비율"].forEach(function (t) { head.appendChild(el("th", {}, t)); });
    table.appendChild(head);
    var rows = {};
    data.parts.forEach(function (p) {
      var tr = el("tr", {"data-part": p.key});
      var name = el("td");
      var swatch = el("span", {"class": "ft-swatch"});
      swatch.style.background = p.color;
      name.appendChild(swatch);
      name.appendChild(document.createTextNode(p.name));
      tr.appendChild(name);
      tr.appendChild(el("td", {"class": "ft-bytes"}));
      tr.appendChild(el("td", {"class": "ft-share"}));
      table.appendChild(tr);
      rows[p.key] = tr;
    });
    var totalRow = el("tr", {"data-part": "total", "class": "ft-total-row"});
    totalRow.appendChild(el("td", {}, "합계"));
    totalRow.appendChild(el("td", {"class": "ft-bytes", id: "ftc-total"}));
    totalRow.appendChild(el("td", {"class": "ft-share"}, "100%"));
    table.appendChild(totalRow);
    var gpuNote = el("p", {"class": "ft-note", id: "ftc-gpu-note"});
    [verdictLine, totalLine, bar, table, gpuNote].forEach(function (n) { out.appendChild(n); });
    root.appendChild(out);

    function set(inputs) {
      Object.keys(controls).forEach(function (k) { controls[k].value = String(inputs[k]); });
    }

    function read() {
      return {
        model: controls.model.value, method: controls.method.value, r: parseInt(controls.r.value, 10),
        batch_size: parseInt(controls.batch_size.value, 10), seq_len: parseInt(controls.seq_len.value, 10),
        checkpointing: controls.checkpointing.value, gpu: controls.gpu.value
      };
    }

    function update() {
      var inputs = read();
      controls.r.disabled = inputs.method === "full";
      var bad = ["r", "batch_size", "seq_len"].filter(function (k) { return !(inputs[k] >= 1); });
      if (bad.length) {
        verdictLine.textContent = "r, 배치 크기, 시퀀스 길이는 1 이상의 정수여야 합니다.";
        verdictLine.setAttribute("data-verdict", "invalid");
        return;
      }
      var peak = estimate(data, inputs);
      var gpu = data.gpus.filter(function (g) { return g.key === inputs.gpu; })[0];
      var v = verdict(data, peak.total, gpu);
      var room = gib(gpu.compared_bytes, C) + " GiB";
      verdictLine.setAttribute("data-verdict", v);
      verdictLine.textContent = {
        fits: gpu.name + "에 들어갑니다.",
        tight: gpu.name + "에 들어가지만 빠듯합니다: 남는 메모리가 견적의 " +
               Math.round(100 * C.ESTIMATE_TOLERANCE) + "%보다 적습니다.",
        no: gpu.name + "에 들어가지 않습니다."
      }[v];
      totalLine.textContent = "최대 메모리 견적 " + gib(peak.total, C) + " GiB, 비교한 GPU 메모리 " + room + ".";
      data.parts.forEach(function (p) {
        var cells = rows[p.key].children;
        cells[1].textContent = gib(peak[p.key], C);
        cells[1].setAttribute("data-bytes", String(peak[p.key]));
        cells[2].textContent = (100 * peak[p.key] / peak.total).toFixed(1) + "%";
      });
      var total = document.getElementById("ftc-total");
      total.textContent = gib(peak.total, C);
      total.setAttribute("data-bytes", String(peak.total));
      // the bar: parts to scale, and the GPU's memory as a line
      var scale = Math.max(peak.total, gpu.compared_bytes);
      bar.textContent = "";
      data.parts.forEach(function (p) {
        var seg = el("span", {"class": "ft-seg", title: p.name + " " + gib(peak[p.key], C) + " GiB"});
        seg.style.width = (100 * peak[p.key] / scale) + "%";
        seg.style.background = p.color;
        bar.appendChild(seg);
      });
      var line = el("span", {"class": "ft-capacity", title: gpu.name + " " + room});
      line.style.left = (100 * gpu.compared_bytes / scale) + "%";
      bar.appendChild(line);
      bar.setAttribute("aria-label", "최대 메모리 견적 " + gib(peak.total, C) + " GiB를 항목별로 쌓은 막대와 " +
                       gpu.name + " 메모리 " + room + "를 나타낸 세로선");
      gpuNote.textContent = gpu.total_gib !== null
        ? gpu.name + ": PyTorch가 보고하는 전체 메모리 " + gpu.total_gib + " GiB (정격 " + gpu.nominal_gb + " GB). 출처: " + gpu.source
        : gpu.name + ": PyTorch가 보고한 값을 담은 로그를 찾지 못해 정격 용량 " + gpu.nominal_gb + " GB(" + room +
          ")와 견줍니다. 실제로 쓸 수 있는 메모리는 이와 다를 수 있습니다.";
    }

    Object.keys(controls).forEach(function (k) {
      controls[k].addEventListener("input", update);
      controls[k].addEventListener("change", update);
    });
    reset.addEventListener("click", function () { set(data.defaults); update(); });
    set(data.defaults);
    update();
    root.setAttribute("data-ready", "true");
  }

  function init() {
    var root = document.getElementById("ftc-app"), source = document.getElementById("ftc-data");
    var data = source ? JSON.parse(source.textContent) : null;
    window.ftcourseCalculator = {
      data: data,
      estimate: function (inputs) { return estimate(data, inputs); },
      loraParamCount: function (model, r) {
        return loraParamCount(data.models.filter(function (x) { return x.name === model; })[0], r);
      },
      nParams: function (model) {
        return nParams(data.models.filter(function (x) { return x.name === model; })[0], data.constants);
      },
      verdict: function (total, gpuKey) {
        return verdict(data, total, data.gpus.filter(function (g) { return g.key === gpuKey; })[0]);
      }
    };
    if (root && data) {
      root.textContent = "";
      build(root, data);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
