/*
 * 수치 형식 탐색기 (book/format_explorer.md): a number's bits and rounded value in FP32, FP16, BF16,
 * FP8 E4M3 and FP8 E5M2, and its NF4 code for a block absmax.
 *
 * The formats (bit widths, largest finite value, what PyTorch does past it) and the NF4 table come from the
 * JSON the page wrote at build time (ftcourse/calculator.py `format_data`, element #fx-data). Rounding follows
 * PyTorch: the typed number is a double (a Python float); PyTorch first rounds it to FP32 and converts the
 * FP32 value to the smaller format, each time to the nearest value, ties to the even mantissa.
 * tests/test_calculator.py compares this file's answers with torch's own conversions.
 */
(function () {
  "use strict";

  function pow2(e) {
    return Math.pow(2, e);
  }

  // floor(log2(a)) for a finite a > 0, exactly
  function exponentOf(a) {
    var e = Math.floor(Math.log2(a));
    while (pow2(e) > a) e -= 1;
    while (pow2(e + 1) <= a) e += 1;
    return e;
  }

  function pad(n, width) {
    var s = n.toString(2);
    while (s.length < width) s = "0" + s;
    return s;
  }

  /* Round x to the format; returns {value, sign, exponent, mantissa (bit strings), kind}. */
  function roundTo(fmt, x) {
    var E = fmt.exp_bits, M = fmt.man_bits, bias = pow2(E - 1) - 1, emin = 1 - bias;
    var f = Math.fround(x);
    var ones = pad(pow2(E) - 1, E);
    if (Number.isNaN(f)) {
      var nanMantissa = M >= 7 ? "1" + pad(0, M - 1) : pad(pow2(M) - 1, M);  // PyTorch's quiet NaNs
      return {value: NaN, sign: "0", exponent: ones, mantissa: nanMantissa, kind: "nan"};
    }
    var negative = f < 0 || Object.is(f, -0), a = Math.abs(f), r, kind = "exact";
    if (a === Infinity) {
      r = Infinity;
    } else if (a === 0) {
      r = 0;
    } else {
      var e = Math.max(exponentOf(a), emin), q = pow2(e - M), n = a / q, fl = Math.floor(n), rem = n - fl;
      if (rem > 0.5 || (rem === 0.5 && fl % 2 === 1)) fl += 1;
      r = fl * q;
      if (r === 0) kind = "underflow";
    }
    if (kind === "exact" && r !== Math.abs(x)) kind = "rounded";  // by this format or by the FP32 step before it
    if (r > fmt.max) {
      kind = fmt.overflow === "saturate" ? "saturated" : "overflow";
      r = fmt.overflow === "saturate" ? fmt.max : Infinity;
    }
    var exponent, mantissa;
    if (r === Infinity) {
      exponent = ones;
      mantissa = pad(0, M);
    } else if (r < pow2(emin)) {  // zero or subnormal
      exponent = pad(0, E);
      mantissa = pad(r / pow2(emin - M), M);
      if (r > 0 && kind !== "underflow") kind = kind === "exact" ? "subnormal" : "subnormal, rounded";
    } else {
      var er = exponentOf(r);
      exponent = pad(er + bias, E);
      mantissa = pad((r / pow2(er) - 1) * pow2(M), M);
    }
    return {value: negative ? -r : r, sign: negative ? "1" : "0", exponent: exponent, mantissa: mantissa,
            kind: kind};
  }

  /* NF4 as ftcourse.quant.quantize_blocks does it: x / absmax in FP32, nearest table value (first on a tie). */
  function nf4(table, x, absmax) {
    var normed = Math.fround(Math.fround(x) / Math.fround(absmax)), best = 0, bestGap = Infinity;
    table.forEach(function (level, i) {
      var gap = Math.abs(Math.fround(normed - level));
      if (gap < bestGap) { best = i; bestGap = gap; }
    });
    return {code: best, level: table[best], normed: normed, value: Math.fround(table[best] * Math.fround(absmax))};
  }

  function parse(text) {
    var t = text.trim().toLowerCase().replace(/,/g, "");
    if (t === "") return null;
    if (/^[+-]?(inf|infinity)$/.test(t)) return t[0] === "-" ? -Infinity : Infinity;
    if (t === "nan") return NaN;
    var v = Number(t);
    return Number.isNaN(v) ? null : v;
  }

  function show(v) {
    if (Number.isNaN(v)) return "NaN";
    if (v === Infinity) return "+∞";
    if (v === -Infinity) return "−∞";
    if (Object.is(v, -0)) return "-0";
    return String(v);
  }

  function short(v) {
    return show(Number(v.toPrecision(6)));
  }

  var KIND = {
    exact: "정확히 표현됨", rounded: "반올림됨", subnormal: "비정규 수", "subnormal, rounded": "비정규 수로 반올림됨",
    underflow: "너무 작아 0이 됨", overflow: "넘쳐서 무한대", saturated: "넘쳐서 최댓값으로 포화", nan: "NaN"
  };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function build(root, data) {
    var form = el("form", {"class": "ft-form", id: "fx-form"});
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    var inputWrap = el("label", {"class": "ft-field"});
    inputWrap.appendChild(el("span", {}, "수"));
    var input = el("input", {id: "fx-input", type: "text", value: "0.1", inputmode: "decimal", spellcheck: "false"});
    inputWrap.appendChild(input);
    form.appendChild(inputWrap);
    var absWrap = el("label", {"class": "ft-field"});
    absWrap.appendChild(el("span", {}, "NF4 블록의 absmax"));
    var absmax = el("input", {id: "fx-absmax", type: "text", value: "1", inputmode: "decimal", spellcheck: "false"});
    absWrap.appendChild(absmax);
    form.appendChild(absWrap);
    root.appendChild(form);

    var message = el("p", {id: "fx-message", "class": "ft-verdict", "aria-live": "polite"});
    root.appendChild(message);
    var table = el("table", {"class": "ft-table", id: "fx-table"});
    var head = el("tr");
    ["형식", "부호 | 지수 | 가수", "저장되는 값", "상대 오차", "무슨 일이"].forEach(function (t) {
      head.appendChild(el("th", {}, t));
    });
    table.appendChild(head);
    var rows = {};
    data.formats.forEach(function (fmt) {
      var tr = el("tr", {"data-format": fmt.name});
      tr.appendChild(el("td", {}, fmt.name + " (" + (1 + fmt.exp_bits + fmt.man_bits) + "비트)"));
      ["ft-bits", "ft-value", "ft-error", "ft-kind"].forEach(function (c) { tr.appendChild(el("td", {"class": c})); });
      table.appendChild(tr);
      rows[fmt.name] = tr;
    });
    var scroll = el("div", {"class": "ft-scroll"});  // a narrow screen scrolls the table, not the page
    scroll.appendChild(table);
    root.appendChild(scroll);
    var nf4Line = el("p", {id: "fx-nf4", "class": "ft-total"});
    root.appendChild(nf4Line);

    function bitSpan(cls, bits, color) {
      var s = el("span", {"class": "ft-bitfield " + cls}, bits);
      s.style.color = color;
      return s;
    }

    function update() {
      var x = parse(input.value), a = parse(absmax.value);
      if (x === null) {
        message.textContent = "수를 읽지 못했습니다. 예: 0.1, -3.5e-6, 65520, inf, nan";
        message.setAttribute("data-state", "invalid");
        return;
      }
      message.setAttribute("data-state", "ok");
      message.textContent = "입력한 수 " + show(x) + "(64비트 double)를 각 형식에 저장하면:";
      data.formats.forEach(function (fmt) {
        var r = roundTo(fmt, x), cells = rows[fmt.name].children;
        var bits = r.sign + r.exponent + r.mantissa;
        rows[fmt.name].setAttribute("data-bits", bits);
        rows[fmt.name].setAttribute("data-value", show(r.value));
        rows[fmt.name].setAttribute("data-kind", r.kind);
        cells[1].textContent = "";
        cells[1].appendChild(bitSpan("ft-sign", r.sign, data.colors.sign));
        cells[1].appendChild(document.createTextNode(" "));
        cells[1].appendChild(bitSpan("ft-exponent", r.exponent, data.colors.exponent));
        cells[1].appendChild(document.createTextNode(" "));
        cells[1].appendChild(bitSpan("ft-mantissa", r.mantissa, data.colors.mantissa));
        cells[2].textContent = show(r.value);
        var err = (isFinite(x) && x !== 0 && isFinite(r.value)) ? Math.abs(r.value - x) / Math.abs(x) : null;
        cells[3].textContent = err === null ? "–" : (err === 0 ? "0" : err.toExponential(2));
        cells[4].textContent = KIND[r.kind];
      });
      if (a === null || !(a > 0) || !isFinite(a) || !isFinite(x)) {
        nf4Line.textContent = "NF4: absmax는 0보다 큰 유한한 수여야 하고, 입력한 수도 유한해야 합니다.";
        nf4Line.removeAttribute("data-code");
        return;
      }
      var q = nf4(data.nf4, x, a);
      nf4Line.setAttribute("data-code", String(q.code));
      nf4Line.setAttribute("data-value", String(q.value));
      // six significant digits here: the FP32 quotient's last digits (0.10000000149…) say nothing about NF4
      nf4Line.textContent = "NF4: " + show(x) + " / absmax " + show(a) + " ≈ " + short(q.normed) +
        " → 가장 가까운 표 값 " + short(q.level) + ", 코드 " + q.code + " (" + pad(q.code, 4) + "), 되돌린 값 ≈ " +
        short(q.value) + (Math.abs(x) > a ? " (입력이 absmax보다 커서 표의 끝 값으로 갑니다)" : "");
    }

    input.addEventListener("input", update);
    absmax.addEventListener("input", update);
    update();
    root.setAttribute("data-ready", "true");
  }

  function init() {
    var root = document.getElementById("fx-app"), source = document.getElementById("fx-data");
    var data = source ? JSON.parse(source.textContent) : null;
    window.ftcourseFormats = {
      data: data,
      round: function (name, x) {
        return roundTo(data.formats.filter(function (f) { return f.name === name; })[0], x);
      },
      nf4: function (x, absmax) { return nf4(data.nf4, x, absmax); }
    };
    if (root && data) {
      root.textContent = "";
      build(root, data);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
