/* The course's quiz (book/quiz.md): checks an answer in the browser and says why it is right or wrong.
   ftcourse/quiz.py writes each question as a plain HTML form (no answer in it) and the answers and
   explanations as JSON in <script type="application/json" class="ftquiz-data">. No network, no library. */
(function () {
  "use strict";

  function loadAnswers() {
    var all = {};
    document.querySelectorAll("script.ftquiz-data").forEach(function (s) {
      var data = JSON.parse(s.textContent);
      Object.keys(data).forEach(function (k) { all[k] = data[k]; });
    });
    return all;
  }

  // "16,515,072", "4.2539 비트", "1/3", "1.5e6" -> a number; NaN when there is none.
  function parseNumber(text) {
    var t = String(text).trim().replace(/[,\s_]/g, "");
    var frac = t.match(/^([+-]?(?:\d+\.?\d*|\.\d+))\/((?:\d+\.?\d*|\.\d+))/);
    if (frac) { return Number(frac[1]) / Number(frac[2]); }
    var m = t.match(/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/);
    return m ? Number(m[0]) : NaN;
  }

  // the same rule as Question.accepts in ftcourse/quiz.py
  function near(value, target, tolerance) {
    return Math.abs(value - target) <= tolerance + 1e-9 * Math.abs(target);
  }

  function solution(answerHtml, explanation) {
    return '<details class="ftquiz-solution"><summary>정답과 해설 보기</summary>' +
      "<p><strong>정답:</strong> " + answerHtml + "</p><p>" + explanation + "</p></details>";
  }

  function show(form, state, html) {
    var box = form.querySelector(".ftquiz-feedback");
    form.dataset.state = state;
    box.className = "ftquiz-feedback ftquiz-" + state;
    box.innerHTML = html;
  }

  function checkChoice(form, q) {
    var picked = form.querySelector("input[type=radio]:checked");
    if (!picked) { return show(form, "empty", "<p>보기를 하나 고르세요.</p>"); }
    var labels = form.querySelectorAll(".ftquiz-option");
    labels.forEach(function (l) { l.classList.remove("ftquiz-picked-right", "ftquiz-picked-wrong"); });
    var i = Number(picked.value), option = q.options[i];
    var label = picked.closest(".ftquiz-option");
    if (option.correct) {
      label.classList.add("ftquiz-picked-right");
      return show(form, "right", '<p class="ftquiz-verdict">정답입니다.</p><p>' + option.why + "</p><p>" +
        q.explanation + "</p>");
    }
    label.classList.add("ftquiz-picked-wrong");
    var right = q.options.findIndex(function (o) { return o.correct; });
    var rightHtml = labels[right].innerHTML.replace(/<input[^>]*>/, "").trim();
    show(form, "wrong", '<p class="ftquiz-verdict">오답입니다.</p><p>' + option.why +
      " 다른 보기를 골라 보세요.</p>" + solution(rightHtml, q.explanation));
  }

  function checkNumber(form, q) {
    var input = form.querySelector("input[type=text]");
    var value = parseNumber(input.value);
    if (isNaN(value)) {
      return show(form, "empty", "<p>숫자를 입력하세요(예: 16,515,072 또는 0.25).</p>");
    }
    if (near(value, q.answer, q.tolerance)) {
      return show(form, "right", '<p class="ftquiz-verdict">정답입니다.</p><p>' + q.explanation + "</p>");
    }
    var trap = q.traps.find(function (t) { return near(value, t.value, q.tolerance); });
    var why = trap ? trap.why : (value > q.answer ? "정답보다 큽니다." : "정답보다 작습니다.") + " 계산을 다시 따라가 보세요.";
    show(form, "wrong", '<p class="ftquiz-verdict">오답입니다.</p><p>' + why + "</p>" +
      solution(q.shown, q.explanation));
  }

  function setUp() {
    var answers = loadAnswers();
    document.querySelectorAll("form.ftquiz").forEach(function (form) {
      var q = answers[form.dataset.qid];
      if (!q) { return; }
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (q.kind === "choice") { checkChoice(form, q); } else { checkNumber(form, q); }
      });
      form.dataset.ready = "true";
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", setUp); } else { setUp(); }
})();
