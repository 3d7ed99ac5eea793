// The grid and the clipboard. Cells copied from a spreadsheet (rows by line, cells by tab,
// as Excel and Google Sheets copy them) and pasted onto a grid cell fill the cells from
// there, right and down, a save each, as if typed there (probe 69c D7: nothing happened, or
// the whole block went into one cell); a single value pasted into an open editor stays the
// editor's. Copying a focused cell copies what it shows (probe 69c D8: nothing).
(function () {
  "use strict";

  // Most cells one paste writes: each is a save of its own.
  var MOST = 1000;

  // Rows of cells from tab-separated text; a cell quoted by the spreadsheet (it holds a tab,
  // a line break or a quote) is read whole, its doubled quotes as one.
  function parse(text) {
    var rows = [[]], cell = "", i = 0, quoted = false;
    text = text.replace(/\r\n?/g, "\n");
    if (text.endsWith("\n")) text = text.slice(0, -1);
    while (i < text.length) {
      var ch = text[i];
      if (quoted) {
        if (ch === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
        if (ch === '"') { quoted = false; i += 1; continue; }
        cell += ch; i += 1; continue;
      }
      if (ch === '"' && cell === "") { quoted = true; i += 1; continue; }
      if (ch === "\t") { rows[rows.length - 1].push(cell); cell = ""; i += 1; continue; }
      if (ch === "\n") { rows[rows.length - 1].push(cell); rows.push([]); cell = ""; i += 1; continue; }
      cell += ch; i += 1;
    }
    rows[rows.length - 1].push(cell);
    return rows;
  }

  function say(text) {
    var toasts = document.getElementById("toasts");
    if (!toasts) return;
    var toast = document.createElement("div");
    toast.className = "toast";
    toast.setAttribute("role", "status");
    toast.textContent = text;
    toasts.appendChild(toast);
    setTimeout(function () { toast.remove(); }, 6000);
  }

  document.addEventListener("copy", function (e) {
    var cell = e.target.closest && e.target.closest("#grid td.cell");
    var selected = window.getSelection && String(window.getSelection());
    if (!cell || e.target.closest(".cell-editor") || selected || !e.clipboardData) return;
    var value = cell.querySelector(".value");
    e.clipboardData.setData("text/plain", value ? value.textContent : "");
    e.preventDefault();
  });

  document.addEventListener("paste", function (e) {
    var cell = e.target.closest && e.target.closest("#grid td.cell");
    if (!cell || !window.htmx) return;
    var text = (e.clipboardData || window.clipboardData).getData("text/plain");
    if (!text) return;
    var block = parse(text);
    var many = block.length > 1 || block[0].length > 1;
    if (!many && e.target.closest(".cell-editor")) return;
    e.preventDefault();
    var rows = Array.prototype.slice.call(document.querySelectorAll("#grid tr[data-record]"));
    var r0 = rows.indexOf(cell.parentElement);
    var c0 = Array.prototype.indexOf.call(cell.parentElement.querySelectorAll("td.cell"), cell);
    var saves = [], left = 0;
    block.forEach(function (values, i) {
      var row = rows[r0 + i];
      values.forEach(function (value, j) {
        var target = row && row.querySelectorAll("td.cell")[c0 + j];
        var edit = target && target.getAttribute("hx-get");
        if (!edit || saves.length >= MOST) { left += 1; return; }
        saves.push({ id: row.dataset.record, field: target.dataset.field, value: value, url: edit.split("/edit")[0] });
      });
    });
    var refused = 0;
    function counted(e) { if (e.detail.failed) refused += 1; }
    document.addEventListener("htmx:afterRequest", counted);
    // One after another, each on the row as the save before left it.
    saves.reduce(function (before, s) {
      return before.then(function () {
        return htmx.ajax("PUT", s.url, {
          source: document.getElementById("row-" + s.id) || document.body,
          target: "#row-" + s.id,
          swap: "outerHTML",
          values: { field: s.field, value: s.value },
        }).catch(function () { refused += 1; });
      });
    }, Promise.resolve()).then(function () {
      document.removeEventListener("htmx:afterRequest", counted);
      var done = saves.length - refused;
      var words = "Pasted " + done + (done === 1 ? " value" : " values");
      if (refused) words += "; " + refused + " refused";
      if (left) words += "; " + left + " did not fit the rows shown or their editable cells";
      say(words + ".");
    });
  });
})();
