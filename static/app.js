// Wharf's own behaviour on top of htmx: error responses become toasts, and the grid
// behaves like a spreadsheet (arrows, Enter, Escape, Tab, double click).
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) {
      // Error answers carry a toast and HX-Retarget: let htmx swap them.
      htmx.config.responseHandling = [
        { code: "204", swap: false },
        { code: "[23]..", swap: true },
        { code: "[45]..", swap: true, error: true },
      ];
      // New content is wired up (its hx- attributes, focus, what a refresh carries over) in
      // the same moment it is swapped in: with htmx's 20 ms settle, which a busy page
      // stretches past 100 ms, a live refresh several times a second left a grid whose
      // clicks did nothing or loaded a whole page, and keys typed then were overwritten.
      htmx.config.defaultSettleDelay = 0;
    }
  });

  // A live refresh of the grid gives way to the person's own work. It waits while a cell is
  // being edited (it would replace the editor) or while one of the person's own requests
  // into the grid (a filter, sort, page, search, an editor, a save) is on its way, and comes
  // once they are done, for the view then shown; such a request starting makes a refresh
  // under way give way (its answer would put the view or the cell it asked for out of the
  // page). (Here rather than as an hx-trigger filter: the Content-Security-Policy forbids
  // eval.)
  var liveWaiting = false;
  var ownRequests = 0;
  var refreshUnderWay = null;
  // Where focus goes once the row (or grid) being swapped in settles.
  var pendingFocus = null;
  // What the person had in the grid that a refresh's answer would wipe: ticked rows and the
  // search form's unsent text; put back into the grid that answer brings.
  var carried = null;
  function isRefresh(elt) { return !!(elt && elt.hasAttribute && elt.hasAttribute("data-live-refresh")); }
  function intoGrid(target) { return !!(target && target.closest && target.closest("#grid")); }
  // A mouse press in the grid, and a moment after it for a double click's second press: a
  // refresh replacing the cell between press and release makes the browser fire no click
  // (probe 59b: half of the double-clicks made under writes opened no editor). A press
  // never released (the mouse left the window) stops holding after 2 s.
  var pressedAt = 0;
  var releasedAt = 0;
  function pressing() {
    var now = Date.now();
    return (pressedAt > releasedAt && now - pressedAt < 2000) || (releasedAt > 0 && now - releasedAt < 400);
  }
  document.addEventListener("mousedown", function (e) {
    if (!e.target.closest || !e.target.closest("#grid")) return;
    pressedAt = Date.now();
    setTimeout(catchUpLive, 2050);
  }, true);
  document.addEventListener("mouseup", function () {
    if (pressedAt <= releasedAt) return;
    releasedAt = Date.now();
    setTimeout(catchUpLive, 450);
  }, true);
  function mustWait() { return ownRequests > 0 || pressing() || !!document.querySelector(".cell-editor"); }

  document.addEventListener("htmx:beforeRequest", function (e) {
    if (!isRefresh(e.detail.elt)) return;
    if (mustWait()) {
      e.preventDefault();
      liveWaiting = true;
      return;
    }
    // The refreshed grid puts focus back on the cell that had it.
    var focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("td.cell");
    if (focused && !pendingFocus) {
      pendingFocus = { record: focused.parentElement.dataset.record, field: focused.dataset.field, dr: 0, dc: 0 };
    }
  });
  document.addEventListener("htmx:beforeSend", function (e) {
    var xhr = e.detail.xhr;
    if (isRefresh(e.detail.elt)) {
      refreshUnderWay = xhr;
      xhr.addEventListener("loadend", function () { if (refreshUnderWay === xhr) refreshUnderWay = null; });
      return;
    }
    // The view's count, asked by the grid itself once shown: not the person's work, so it
    // neither holds live refreshes back nor makes one give way (probe 62c D1: each refresh
    // brought a count that superseded it, which brought another refresh, for ever).
    if (e.detail.elt && e.detail.elt.hasAttribute && e.detail.elt.hasAttribute("data-background")) return;
    if (!intoGrid(e.detail.target)) return;
    ownRequests++;
    xhr.addEventListener("loadend", function () {
      ownRequests--;
      // After htmx has swapped the answer in (an editor it opened makes the refresh wait on).
      setTimeout(catchUpLive, 0);
      playSoon();
    });
    if (refreshUnderWay) {
      // Its answer, for the view before this request, is not swapped in (below); asked
      // again once this request is done. (Not aborted: htmx logs an abort as an error.)
      refreshUnderWay.superseded = true;
      refreshUnderWay = null;
      liveWaiting = true;
    }
  });
  document.addEventListener("htmx:beforeSwap", function (e) {
    // (Its elt is the target it swaps into; the element that asked is the request's.)
    var asked = e.detail.requestConfig && e.detail.requestConfig.elt;
    if (!isRefresh(asked) || !e.detail.shouldSwap) return;
    if (e.detail.xhr.superseded || mustWait()) {
      // Came back as the person started something: asked again once they are done.
      e.detail.shouldSwap = false;
      liveWaiting = true;
      return;
    }
    if (!e.detail.isError && e.detail.target && e.detail.target.id === "grid") carried = carry(e.detail.target);
  });
  // A live refresh asks for the view the grid shows when it leaves, not when the page loaded.
  document.addEventListener("htmx:configRequest", function (e) {
    if (!isRefresh(e.detail.elt)) return;
    var grid = document.getElementById("grid");
    if (grid && grid.dataset.refresh) e.detail.path = grid.dataset.refresh;
  });
  // Back to a grid from htmx's history: the copy may hold a cell editor (opened, then a
  // filter clicked), which would hold every refresh back, and data from then. The grid is
  // asked for again.
  document.addEventListener("htmx:historyRestore", function () {
    var grid = document.getElementById("grid");
    // Its editors go at once: keys typed into one until the grid comes back were lost.
    document.querySelectorAll("#grid .cell-editor").forEach(function (editor) { editor.remove(); });
    if (grid && grid.dataset.refresh) {
      htmx.ajax("GET", grid.dataset.refresh, { source: grid, target: grid, swap: "outerHTML" });
    }
  });
  function catchUpLive() {
    if (!liveWaiting || mustWait()) return;
    var live = document.querySelector("[data-live-refresh]");
    liveWaiting = false;
    if (live) htmx.trigger(live, "sse:changed");
  }

  // The ticked rows, the search form's fields as the person left them (unsent text,
  // where the caret was), and the cell that had the focus (a live refresh took it away:
  // arrows then moved nothing, and a row just added lost it, probe 68b D13).
  function carry(grid) {
    var state = { ticked: [], fields: [], focus: null, counted: null, cell: null };
    var at = document.activeElement && document.activeElement.closest && document.activeElement.closest("td.cell");
    if (at && grid.contains(at)) state.cell = { record: at.parentElement.dataset.record, field: at.dataset.field };
    // The view's count as last shown, kept up while the refreshed view is counted again.
    var count = grid.querySelector("#view-count");
    if (count && !count.hasAttribute("data-background")) {
      var of = grid.querySelector("#pager-of");
      var last = grid.querySelector("#pager-last");
      state.counted = { text: count.textContent, of: of ? of.innerHTML : "", last: last ? last.innerHTML : "" };
    }
    grid.querySelectorAll("[data-select]:checked").forEach(function (b) { state.ticked.push(b.value); });
    var form = grid.querySelector("form.grid-search");
    if (form) {
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.type === "hidden") return;
        var changed = el.tagName === "SELECT"
          ? Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; })
          : el.value !== el.defaultValue;
        if (changed) state.fields.push({ name: el.name, value: el.value });
        if (el === document.activeElement) {
          state.focus = { name: el.name, start: el.selectionStart, end: el.selectionEnd };
        }
      });
    }
    return state;
  }
  function putBack(grid, state) {
    var counting = grid.querySelector("#view-count[data-background]");
    if (counting && state.counted) {
      counting.textContent = state.counted.text;
      var of = grid.querySelector("#pager-of");
      var last = grid.querySelector("#pager-last");
      if (of && !of.innerHTML.trim()) of.innerHTML = state.counted.of;
      if (last && !last.innerHTML.trim()) {
        last.innerHTML = state.counted.last;
        htmx.process(last);
      }
    }
    state.ticked.forEach(function (id) {
      var box = grid.querySelector("[data-select][value='" + CSS.escape(id) + "']");
      if (box) box.checked = true;
    });
    if (state.ticked.length) syncSelection(grid);
    if (state.cell && state.cell.record) {
      var row = grid.querySelector("tr[data-record='" + CSS.escape(state.cell.record) + "']");
      var cell = row && row.querySelector("td.cell[data-field='" + CSS.escape(state.cell.field || "") + "']");
      if (cell) focusCell(cell);
    }
    var form = grid.querySelector("form.grid-search");
    if (!form) return;
    state.fields.forEach(function (f) {
      var el = form.elements.namedItem(f.name);
      if (el && el.type !== "hidden") el.value = f.value;
    });
    if (state.focus) {
      var el = form.elements.namedItem(state.focus.name);
      if (el && el.focus) {
        el.focus();
        if (el.setSelectionRange && state.focus.start != null) {
          try { el.setSelectionRange(state.focus.start, state.focus.end); } catch (ignored) { /* not a text field */ }
        }
      }
    }
  }
  // The delete form's ids and button follow the ticked rows.
  function syncSelection(grid) {
    var ids = Array.prototype.map.call(grid.querySelectorAll("[data-select]:checked"), function (b) { return b.value; });
    var idsField = grid.querySelector("#delete-ids");
    if (idsField) idsField.value = ids.join(",");
    var del = grid.querySelector("#delete-button");
    if (del) del.disabled = ids.length === 0;
    // How many are ticked, and a way to untick them all (probe 78c D11: a row ticked
    // earlier, scrolled away, was deleted with the ones meant).
    var count = grid.querySelector("#selection-count");
    if (count) {
      count.hidden = ids.length === 0;
      count.textContent = ids.length + " selected";
    }
    var clear = grid.querySelector("#clear-selection");
    if (clear) clear.hidden = ids.length === 0;
    // The header's box says whether every row shown is ticked, some or none (probe 83a
    // D8: it stayed ticked after a row was unticked).
    var all = grid.querySelector("[data-select-all]");
    var boxes = grid.querySelectorAll("[data-select]").length;
    if (all) {
      all.checked = boxes > 0 && ids.length === boxes;
      all.indeterminate = ids.length > 0 && ids.length < boxes;
    }
    var form = grid.querySelector("#delete-form");
    if (form) form.setAttribute("hx-confirm", deleteQuestion(grid));
  }

  // The delete's question names the rows that go, and says how many of them are out of
  // view, as they are when the button is pressed.
  function deleteQuestion(grid) {
    var rows = Array.prototype.map.call(grid.querySelectorAll("[data-select]:checked"), function (b) { return b.closest("tr"); });
    var names = rows.slice(0, 3).map(function (row) {
      // By the first value it holds, not a cell's message (probe 83a D2: six rows with
      // no email all read "Email is required").
      var named = Array.prototype.find.call(row.querySelectorAll("td.cell .value"), function (v) { return v.textContent.trim() !== ""; });
      var text = named ? named.textContent.trim().replace(/\s+/g, " ") : "an empty row";
      return "“" + (text.length > 40 ? text.slice(0, 40) + "…" : text) + "”";
    });
    if (rows.length > 3) names.push("and " + (rows.length - 3) + " more");
    var question = (rows.length === 1 ? "Delete the selected row (" : "Delete the " + rows.length + " selected rows (") + names.join(", ") + ")?";
    var scroller = grid.querySelector(".grid-scroll");
    var box = scroller ? scroller.getBoundingClientRect() : { top: 0, bottom: window.innerHeight };
    var top = Math.max(box.top, 0), bottom = Math.min(box.bottom, window.innerHeight);
    var away = rows.filter(function (row) {
      var r = row.getBoundingClientRect();
      return r.bottom <= top || r.top >= bottom;
    }).length;
    if (away > 0) question += " " + (away === 1 ? "1 of them is" : away + " of them are") + " out of view.";
    return question + " Deleted rows cannot be brought back.";
  }
  // Asked as the delete is pressed: the rows in view then.
  document.addEventListener("submit", function (e) {
    if (e.target.id !== "delete-form") return;
    var grid = e.target.closest("#grid");
    if (grid) e.target.setAttribute("hx-confirm", deleteQuestion(grid));
  }, true);
  document.addEventListener("click", function (e) {
    if (!e.target.closest || !e.target.closest("#clear-selection")) return;
    var grid = e.target.closest("#grid");
    grid.querySelectorAll("[data-select], [data-select-all]").forEach(function (b) { b.checked = false; });
    syncSelection(grid);
  });

  // A button that makes something takes a double click as one click (probe 57a: a
  // double-clicked "Add row" added two rows, each in error).
  document.addEventListener("click", function (e) {
    if (e.detail > 1 && e.target.closest && e.target.closest("[data-one-click]")) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  // Forms that destroy something ask first (data-confirm holds the question).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      e.preventDefault();
      return;
    }
    // A page's own form (not htmx's) is sent once while the next page loads: a double
    // click on "Send invitation" mailed twice (probe 57e). Free again after a few seconds
    // (a form whose answer is a download leaves the page as it is) or on coming Back.
    if (!form.hasAttribute("hx-post") && !form.hasAttribute("hx-get")) {
      if (form.dataset.sending) {
        e.preventDefault();
        return;
      }
      form.dataset.sending = "1";
      setTimeout(function () { delete form.dataset.sending; }, 3000);
    }
  });
  // "Invitation sent", "Archived ..." are said once: not again on a reload or coming Back.
  function sayOnce() {
    var notices = document.querySelectorAll("[data-say-once]");
    if (notices.length && window.history.replaceState) {
      var url = new URL(window.location.href);
      notices.forEach(function (n) {
        n.dataset.sayOnce.split(" ").forEach(function (param) { url.searchParams.delete(param); });
      });
      window.history.replaceState(window.history.state, "", url.toString());
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", sayOnce);
  else sayOnce();
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sending]").forEach(function (f) { delete f.dataset.sending; });
  });

  // Toasts fade away on their own.
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target && e.detail.target.id === "toasts") {
      var toast = e.detail.target.lastElementChild;
      setTimeout(function () { if (toast) toast.remove(); }, 6000);
    }
  });

  function cells(row) { return Array.prototype.slice.call(row.querySelectorAll("td.cell")); }

  function focusCell(cell) {
    if (!cell) return;
    document.querySelectorAll("td.cell[tabindex='0']").forEach(function (c) { c.setAttribute("tabindex", "-1"); });
    cell.setAttribute("tabindex", "0");
    cell.focus();
  }

  // Whether the editor still holds what it opened with.
  function unchanged(editor) {
    var input = editor.querySelector("[name=value]");
    if (!input) return false;
    // A date read from another spelling: Enter on the reading confirms it.
    if (editor.hasAttribute("data-confirms")) return false;
    if (input.tagName === "SELECT") {
      return Array.prototype.every.call(input.options, function (o) { return o.selected === o.defaultSelected; });
    }
    return input.value === input.defaultValue;
  }

  function sideways(cell, dc) {
    var row = cells(cell.parentElement);
    var next = row[row.indexOf(cell) + dc];
    if (!next) return false;
    focusCell(next);
    return true;
  }

  function move(cell, dr, dc) {
    var row = cell.parentElement;
    var idx = cells(row).indexOf(cell);
    if (dr !== 0) {
      var sib = dr > 0 ? row.nextElementSibling : row.previousElementSibling;
      if (sib) focusCell(cells(sib)[idx]);
    } else {
      focusCell(cells(row)[idx + dc]);
    }
  }

  // Keys pressed on a cell or its editor while the person's own request into the grid is
  // on its way (an editor opening, a save, a cancel) wait, and are played in order once it
  // is done, where the focus then is: on a slow connection they went into nothing, into an
  // editor already closing, or, an editor arriving late taking the focus back, saved one
  // cell's value into another (probe 61e D2).
  var typedAhead = [];
  // The cell whose editor this page asked for and that has not come yet.
  var opening = null;
  var openingSince = 0;
  function busy() {
    if (opening && Date.now() - openingSince > 15000) opening = null;
    return ownRequests > 0 || !!opening;
  }
  var WAITING_KEYS = ["Enter", "Tab", "Escape", "F2", "Backspace", "Delete", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"];
  function waits(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    return e.key.length === 1 || WAITING_KEYS.indexOf(e.key) >= 0;
  }
  function printable(key) { return key.length === 1; }

  // Asks for a cell's editor (a read-only cell has none).
  function openEditor(cell) {
    if (!cell.hasAttribute("hx-get")) return false;
    opening = cell;
    openingSince = Date.now();
    htmx.trigger(cell, "edit");
    return true;
  }

  // Enter, Tab or Escape in an editor: save (or, nothing typed, leave) and move on, or cancel.
  // ("Save", played after a Delete's "Clear", saves and stays on the cell.)
  function editorKey(editor, input, key, shiftKey) {
    var td = editor.closest("td.cell");
    // The row is swapped when the answer comes: a click on it meanwhile keeps the focus
    // where the person clicked (see the click handler).
    td.parentElement.dataset.leaving = "1";
    if (key === "Escape") {
      pendingFocus = { record: td.parentElement.dataset.record, field: td.dataset.field, dr: 0, dc: 0 };
      htmx.ajax("GET", editor.dataset.cancel, { target: td.parentElement, swap: "outerHTML" });
      return true;
    }
    if ((key === "Enter" && !(shiftKey && input.tagName === "TEXTAREA")) || key === "Tab" || key === "Save") {
      var dc = key === "Tab" ? (shiftKey ? -1 : 1) : 0;
      pendingFocus = { record: td.parentElement.dataset.record, field: td.dataset.field, dr: key === "Enter" ? 1 : 0, dc: dc };
      // Nothing typed: the cell is left as it is, not saved again as the editor holds it.
      if (unchanged(editor)) {
        htmx.ajax("GET", editor.dataset.cancel, { target: td.parentElement, swap: "outerHTML" });
      } else {
        htmx.trigger(editor, "submit");
      }
      return true;
    }
    delete td.parentElement.dataset.leaving;
    return false;
  }

  // A key on a focused cell: move, open its editor, or (a character) open it and type.
  function cellKey(cell, key, shiftKey) {
    switch (key) {
      case "ArrowUp": move(cell, -1, 0); return true;
      case "ArrowDown": move(cell, 1, 0); return true;
      case "ArrowLeft": move(cell, 0, -1); return true;
      case "ArrowRight": move(cell, 0, 1); return true;
      // Across the row's cells; past its first or last, on to what comes before or after
      // as Tab goes anywhere (probe 69c D4: the focus stayed on the cell, a trap).
      case "Tab": return sideways(cell, shiftKey ? -1 : 1);
      case "Enter": case "F2": openEditor(cell); return true;
      // Clears the cell, as a spreadsheet does (probe 78c D15): its editor opens emptied
      // and is saved at once (the cell's history undoes it).
      case "Delete": case "Backspace":
        if (openEditor(cell)) typedAhead.unshift({ key: "Clear" }, { key: "Save" });
        return true;
    }
    // Typing over a cell, as in a spreadsheet (probe 61e D5): the character goes into its
    // editor, replacing what it held.
    if (printable(key) && openEditor(cell)) {
      typedAhead.unshift({ key: key, shiftKey: shiftKey });
      return true;
    }
    return false;
  }

  // A key played into an editor's text box: a character replaces the selection, as typed.
  // Typed over a date cell, the editor becomes a text box (Wharf reads `31/12/2025` as an
  // upload's dates are read; the picker dropped typed text), and a list picks the first
  // option the keys typed so far begin (both had dropped the keys: probe 68b D12).
  function typeInto(input, key) {
    if (input.tagName === "SELECT") {
      if (printable(key)) pickTyped(input, key);
      return;
    }
    if (input.type === "date" && printable(key)) {
      input.type = "text";
      input.value = "";
    }
    if (!input.setRangeText || input.type === "date") return;
    var start = input.selectionStart, end = input.selectionEnd;
    if (start == null) return;
    if (printable(key)) {
      input.setRangeText(key, start, end, "end");
    } else if (start !== end) {
      input.setRangeText("", start, end, "end");
    } else if (key === "Backspace" && start > 0) {
      input.setRangeText("", start - 1, start, "end");
    } else if (key === "Delete") {
      input.setRangeText("", start, start + 1, "end");
    }
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function clearInput(input) {
    if (input.tagName === "SELECT") {
      Array.prototype.forEach.call(input.options, function (o) { o.selected = !input.multiple && o.value === ""; });
    } else {
      input.value = "";
    }
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function pickTyped(select, key) {
    var typed = (select.dataset.typed || "") + key.toLowerCase();
    function begins(text) {
      return Array.prototype.find.call(select.options, function (o) {
        return o.value !== "" && (o.text.toLowerCase().indexOf(text) === 0 || o.value.toLowerCase().indexOf(text) === 0);
      });
    }
    var option = begins(typed);
    if (!option && typed.length > 1) {
      typed = key.toLowerCase();
      option = begins(typed);
    }
    select.dataset.typed = typed;
    if (option) select.value = option.value;
  }

  // The cell a queued click was made on, found again in the rows swapped in since.
  function cellAt(at) {
    var row = document.getElementById("row-" + at.record);
    return row ? cells(row).find(function (c) { return c.dataset.field === at.field; }) : null;
  }
  function playTypedAhead() {
    while (typedAhead.length && !busy()) {
      var k = typedAhead.shift();
      if (k.leave) {
        leaveEditors(document.body, null);
        continue;
      }
      if (k.follow && k.box) {
        leaveEditors(k.follow, null);
        pendingFocus = null;
        activate(k.follow);
        continue;
      }
      if (k.follow) {
        if (!leaveThenClick(k.follow) && document.contains(k.follow)) {
          leaveEditors(k.follow, null);
          k.follow.click();
        }
        continue;
      }
      if (k.click) {
        var clicked = cellAt(k.click);
        // Its row went meanwhile: what was typed after the click goes nowhere.
        if (!clicked) { typedAhead = []; return; }
        // The editors it leaves are saved first: played again once their rows are back.
        if (leaveEditors(clicked, clicked) > 0) { typedAhead.unshift(k); return; }
        // On the cell whose editor is open: the keys after it go on into the editor (probe
        // 80a D5: focused, the cell opened a fresh editor and the keys before were lost).
        var open = clicked.querySelector(".cell-editor [name=value]");
        if (open) { open.focus(); continue; }
        focusCell(clicked);
        if (k.edit) openEditor(clicked);
        continue;
      }
      var el = document.activeElement;
      var editor = el && el.closest && el.closest(".cell-editor");
      if (editor) {
        if (k.key === "Clear") clearInput(el);
        else if (printable(k.key) || k.key === "Backspace" || k.key === "Delete") typeInto(el, k.key);
        else editorKey(editor, el, k.key, k.shiftKey);
        continue;
      }
      // A cell's clearing whose editor did not come (a read-only cell): nothing to clear.
      if (k.key === "Clear") continue;
      var cell = el && el.closest && el.closest("td.cell");
      // Keys typed after a click on a box outside the grid go into that box; others there
      // (a tick, a button) do nothing.
      if (!cell && el && el.matches && el.matches("input, select, textarea, button, a")) {
        if (textBox(el) && k.key === "Enter" && el.form) el.form.requestSubmit();
        else if (textBox(el)) typeInto(el, k.key);
        continue;
      }
      // The focus left the grid meanwhile: what was typed for it goes nowhere.
      if (!cell) { typedAhead = []; return; }
      cellKey(cell, k.key, k.shiftKey);
    }
  }
  function playSoon() { setTimeout(playTypedAhead, 0); }
  // A box typed into (not a tick, a button or a file picker).
  function textBox(el) {
    return el.matches("textarea, select, input:not([type=checkbox]):not([type=radio]):not([type=button]):not([type=submit]):not([type=reset]):not([type=file]):not([type=image])");
  }
  // What a held click (below) does once the keys before it are played: a box takes the
  // focus; a tick, button or link is clicked. (Swapped meanwhile: the one of its id.)
  function activate(el) {
    if (!document.contains(el)) el = el.id ? document.getElementById(el.id) : null;
    if (!el) return;
    if (el.focus) el.focus();
    if (!textBox(el)) el.click();
  }
  // A request that failed (a conflict, a lost connection): what was typed after it is not
  // played where it no longer fits.
  document.addEventListener("htmx:responseError", function (e) {
    typedAhead = [];
    opening = null;
    // A row whose record was deleted meanwhile (its editor's save or Escape hears 404)
    // goes, editor and all, so the live updates the editor held back come (probe 61e D1:
    // nothing closed the editor, and the grid took no live update until a reload).
    var path = e.detail.pathInfo && e.detail.pathInfo.requestPath;
    var gone = e.detail.xhr && e.detail.xhr.status === 404 && path && path.match(/^\/grid\/[^/]+\/records\/([^/?]+)/);
    var row = gone && document.getElementById("row-" + gone[1]);
    if (row) {
      var grid = row.closest("#grid");
      row.remove();
      if (grid) tabStop();
      setTimeout(catchUpLive, 0);
    }
  });
  document.addEventListener("htmx:sendError", function () { typedAhead = []; opening = null; });
  // A row a save or cancel was sent for, whose answer has not come (or was refused).
  function leftRow(row) { delete row.dataset.leaving; }
  document.addEventListener("htmx:responseError", function () {
    document.querySelectorAll("#grid [data-leaving]").forEach(leftRow);
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    if (opening && e.detail && e.detail.elt === opening && !opening.querySelector(".cell-editor")) opening = null;
    playSoon();
  });

  // A choice that applies at once, stepped to with the keyboard, applies on Enter; one left
  // unconfirmed goes back to what is in force.
  document.addEventListener("keydown", function (e) {
    var select = e.target.matches && e.target.matches("select[data-autosubmit]") ? e.target : null;
    if (!select) return;
    // Arrows, Home, End, pages, and a letter jumping to the option it begins (probe 70a D7).
    var steps = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"];
    var jumps = e.key.length === 1 && !e.ctrlKey && !e.metaKey;
    if ((steps.indexOf(e.key) >= 0 || jumps) && !e.altKey) select.dataset.stepped = "1";
    if (e.key === "Enter" && select.dataset.stepped) {
      e.preventDefault();
      delete select.dataset.stepped;
      select.form.submit();
    }
  });
  document.addEventListener("focusout", function (e) {
    var select = e.target.matches && e.target.matches("select[data-autosubmit]") ? e.target : null;
    if (!select || !select.dataset.stepped) return;
    delete select.dataset.stepped;
    Array.prototype.forEach.call(select.options, function (o) { o.selected = o.defaultSelected; });
  });

  document.addEventListener("keydown", function (e) {
    var inGrid = e.target.closest && (e.target.closest("td.cell") ||
      (e.target === document.body && document.getElementById("grid")));
    // Keys still waiting to be played come first: a key pressed between the editor taking
    // the focus and their turn went in ahead of them ("abcdef" saved "fabcde": probe 67f D8).
    // (Anywhere, once keys wait: those typed after a click on the search box take their
    // turn after the click, probe 83a D1.)
    if ((typedAhead.length > 0 || (inGrid && busy())) && waits(e)) {
      e.preventDefault();
      typedAhead.push({ key: e.key, shiftKey: e.shiftKey });
      return;
    }
    var editor = e.target.closest && e.target.closest(".cell-editor");
    if (editor) {
      // Arrows walk a list of options; Enter or Tab saves the one reached (probe 61e D3:
      // each step was saved).
      if (e.target.tagName === "SELECT" && e.key.indexOf("Arrow") === 0) editor.dataset.keyed = "1";
      if (editorKey(editor, e.target, e.key, e.shiftKey)) e.preventDefault();
      return;
    }
    var cell = e.target.closest && e.target.closest("td.cell");
    if (!cell || e.ctrlKey || e.metaKey || e.altKey) return;
    if (cellKey(cell, e.key, e.shiftKey)) e.preventDefault();
  });

  // What was typed into an editor, a reading it offers to confirm aside.
  function typedIn(editor) {
    var input = editor.querySelector("[name=value]");
    if (!input) return false;
    if (input.tagName === "SELECT" && input.multiple) {
      return Array.prototype.some.call(input.options, function (o) { return o.selected !== o.defaultSelected; });
    }
    if (input.tagName === "SELECT") {
      // The option it opened on: the one marked, else the first, which a browser shows
      // (probe 79b D4: an empty cell's blank first option counted as chosen).
      var first = Array.prototype.find.call(input.options, function (o) { return o.defaultSelected; }) || input.options[0];
      return !!first && input.value !== first.value;
    }
    return input.value !== input.defaultValue;
  }

  // A click away from an open editor saves what was typed into it, or closes it when
  // nothing was, as a spreadsheet does (probe 78c D20: it stayed open, unsaved, two at
  // once, and a reload lost them). The clicked cell keeps the focus.
  function leaveEditors(target, clicked) {
    var sent = 0;
    document.querySelectorAll("#grid .cell-editor").forEach(function (editor) {
      var td = editor.closest("td.cell");
      if (!td || td.contains(target)) return;
      if (clicked && clicked.parentElement === td.parentElement) {
        pendingFocus = { record: clicked.parentElement.dataset.record, field: clicked.dataset.field, dr: 0, dc: 0 };
      }
      // Refused, or its save or cancel already on its way (a second click while it goes).
      if (editor.dataset.refused || editor.dataset.leaving) return;
      editor.dataset.leaving = "1";
      td.parentElement.dataset.leaving = "1";
      sent += 1;
      if (typedIn(editor)) {
        editor.dataset.leftBehind = "1";
        htmx.trigger(editor, "submit");
      } else {
        htmx.ajax("GET", editor.dataset.cancel, { target: td.parentElement, swap: "outerHTML" });
      }
    });
    return sent;
  }

  document.addEventListener("click", function (e) {
    var cell = e.target.closest && e.target.closest("td.cell");
    var onCell = cell && !e.target.closest(".cell-editor");
    // A click on a cell while keys typed before it still wait (a slow connection) takes its
    // turn after them: done at once, it moved the focus, and the keys went into the cell
    // clicked, or into the editor it left behind (probe 79b D5).
    if (onCell && typedAhead.length > 0) {
      typedAhead.push({ click: at(cell) });
      return;
    }
    // The focus a save or cancel on its way meant to move on to gives way to the click,
    // unless the clicked row is the one coming back (probe 80a D2: the row's answer took
    // the focus back down, and the keys typed after the click went there).
    if (onCell) {
      pendingFocus = cell.parentElement.dataset.leaving ? { record: at(cell).record, field: at(cell).field, dr: 0, dc: 0 } : null;
    }
    if (e.target.closest && !e.target.closest("dialog")) leaveEditors(e.target, cell);
    if (onCell) focusCell(cell);
  });
  function at(cell) { return { record: cell.parentElement.dataset.record, field: cell.dataset.field }; }

  // A double click on a cell opens its editor once the row it is in has come back from the
  // save or cancel its first click sent (probe 79b D7: asked of the row about to go, the
  // editor was lost in the swap), or after the keys still waiting to be played.
  document.addEventListener("dblclick", function (e) {
    var cell = e.target.closest && e.target.closest("td.cell[hx-get]");
    if (!cell || e.target.closest(".cell-editor")) return;
    if (typedAhead.length > 0) {
      e.stopPropagation();
      typedAhead.push({ click: at(cell), edit: true });
    } else if (cell.parentElement.dataset.leaving) {
      e.stopPropagation();
      pendingFocus = { record: at(cell).record, field: at(cell).field, dr: 0, dc: 0, edit: true };
    }
  }, true);

  // A press outside the grid's cells while keys wait keeps the focus where the keys go, and
  // its click takes its turn after them (a link or button that reloads the grid: below);
  // keys typed after it wait too (probe 83a D1, D7: a click on the search box, a row's
  // tick or a column's menu took the focus, the keys were dropped and their editor was
  // left open, holding live updates back).
  var heldPress = null;
  document.addEventListener("mousedown", function (e) {
    heldPress = null;
    if (!e.isTrusted || typedAhead.length === 0 || !e.target.closest) return;
    if (e.target.closest(".cell-editor") || e.target.closest("dialog")) return;
    // No press takes the focus meanwhile, a cell's (whose click is queued above) and a
    // right or middle one's included (probe 84a D1, D2: the keys queued for the search box
    // went into a cell pressed after it, and a right press took them into the box).
    e.preventDefault();
    if (e.button === 0 && !e.target.closest("td.cell")) heldPress = e.target;
  }, true);
  document.addEventListener("click", function (e) {
    var held = heldPress;
    heldPress = null;
    if (!held || !e.isTrusted || !e.target.closest) return;
    // (Released elsewhere, a drag: a press on the page around.)
    var on = held === e.target || held.contains(e.target);
    var box = on ? held.closest("input, select, textarea, button, a[href], label, summary") : null;
    if (box && box.tagName === "LABEL" && box.control) box = box.control;
    if (typedAhead.length === 0) {
      // Played meanwhile: the press took no focus, so the box takes it now.
      if (box && textBox(box)) box.focus();
      return;
    }
    // A link or button that reloads the grid is queued as such, below.
    if (box && box.matches("a, button") && box.closest("[hx-get], [hx-post], a[href]")) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    // A press on the page around leaves the editors, as a click away does (probe 84a D3:
    // the editor the keys went into stayed open, unsaved).
    typedAhead.push(box ? { follow: box, box: true } : { leave: true });
  }, true);

  // A click on a link or button that reloads the grid (a sort, a tab, a filter) waits for
  // the saves a click away sends, then goes on: read before them, the grid showed the old
  // values (probe 79b D2).
  var deferred = null;
  document.addEventListener("click", function (e) {
    if (!e.isTrusted || deferred) return;
    var trigger = e.target.closest && e.target.closest("[hx-get], [hx-post], a[href]");
    if (!trigger || trigger.closest("td.cell") || trigger.closest(".cell-editor") || trigger.closest("dialog")) return;
    // What to click again: the button itself, not the form around it.
    var clicked = e.target.closest("a, button") || trigger;
    // Keys still waiting for an editor on its way: the click takes its turn after them
    // (probe 80a D4: what was typed was dropped without a word).
    if (typedAhead.length > 0) {
      e.preventDefault();
      e.stopImmediatePropagation();
      typedAhead.push({ follow: clicked });
      return;
    }
    if (!leaveThenClick(clicked)) return;
    e.preventDefault();
    e.stopImmediatePropagation();
  }, true);
  // Saves the editors typed into, then clicks `clicked` once they are saved; false when
  // none was typed into (nothing to wait for).
  function leaveThenClick(clicked) {
    var typed = Array.prototype.filter.call(document.querySelectorAll("#grid .cell-editor"), function (editor) {
      return !editor.dataset.refused && typedIn(editor);
    });
    if (typed.length === 0) return false;
    var waiting = { trigger: clicked, waiting: typed.length, refused: false };
    deferred = waiting;
    // A save that never answers does not hold clicks back for good.
    setTimeout(function () { if (deferred === waiting) deferred = null; }, 10000);
    leaveEditors(clicked, null);
    return true;
  }

  // A save a click away sent: refused, its editor is shown and focused, and not sent again
  // by the next click (probe 79b D3: it stayed out of sight and every click re-sent it).
  // (Heard before the swap: once the row is swapped the form is out of the page, and its
  // later events reach no listener here.)
  document.addEventListener("htmx:beforeSwap", function (e) {
    // (Its elt is the target; the form that asked is the request's.)
    var form = e.detail.requestConfig && e.detail.requestConfig.elt;
    if (!form || !form.dataset || !form.dataset.leftBehind) return;
    delete form.dataset.leftBehind;
    var successful = e.detail.xhr && e.detail.xhr.status < 400;
    if (!successful && document.contains(form)) {
      form.dataset.refused = "1";
      delete form.dataset.leaving;
      var row = form.closest("tr");
      if (row) leftRow(row);
      form.scrollIntoView({ block: "center" });
      var input = form.querySelector("[name=value]");
      if (input) input.focus();
    }
    if (deferred) {
      deferred.waiting -= 1;
      deferred.refused = deferred.refused || !successful;
      if (deferred.waiting <= 0) {
        var go = deferred;
        deferred = null;
        // After the swap.
        setTimeout(function () {
          if (!go.refused && document.contains(go.trigger)) go.trigger.click();
        }, 0);
      }
    }
  });

  // Leaving the page with something typed into an editor asks first.
  window.addEventListener("beforeunload", function (e) {
    var typed = Array.prototype.some.call(document.querySelectorAll("#grid .cell-editor"), typedIn);
    if (typed) {
      e.preventDefault();
      e.returnValue = "";
    }
  });

  // An editor opened: focus its input, unless the person went to a box to type in
  // meanwhile.
  document.addEventListener("htmx:afterSettle", function (e) {
    var target = e.detail && e.detail.target;
    var editorInput = target && target.querySelector && target.querySelector(".cell-editor [name=value]");
    if (editorInput) {
      if (opening === target) opening = null;
      var now = document.activeElement;
      // (A box to type in, such as the search box or another cell's editor: the keys meant
      // for the search box were saved into the record, probe 80a D3. The editor's input has
      // no autofocus, which htmx obeyed whatever this said.)
      var elsewhere = now && now !== document.body && !target.contains(now) && now.matches &&
        now.matches("input, select, textarea");
      if (elsewhere) {
        // Nothing typed for it: it closes, rather than stay open holding live updates back.
        var lateEditor = editorInput.closest(".cell-editor");
        if (typedAhead.length === 0 && !typedIn(lateEditor)) {
          htmx.ajax("GET", lateEditor.dataset.cancel, { target: lateEditor.closest("tr"), swap: "outerHTML" });
        }
        return;
      }
      editorInput.focus();
      if (editorInput.select && editorInput.type === "text") editorInput.select();
      // Several lines: the caret after the last, so typing adds rather than goes in front.
      if (editorInput.tagName === "TEXTAREA") {
        var end = editorInput.value.length;
        editorInput.setSelectionRange(end, end);
      }
      playSoon();
    }
  });

  // A row (or the whole grid) came back: put focus where the person was going. `htmx:load`
  // fires on the new element itself; the swapped-out one, where htmx's other events go,
  // is no longer in the page (and a save's counts settle before its row).
  document.addEventListener("htmx:load", function (e) {
    var elt = e.detail.elt;
    if (!elt || !elt.id) return;
    if (pendingFocus && (elt.id === "row-" + pendingFocus.record || elt.id === "grid")) {
      var row = document.getElementById("row-" + pendingFocus.record);
      var f = pendingFocus;
      pendingFocus = null;
      var target = row && cells(row).find(function (c) { return c.dataset.field === f.field; });
      if (target) {
        focusCell(target);
        if (f.edit) openEditor(target);
        else if (f.dr || f.dc) move(target, f.dr, f.dc);
      }
    }
    if (elt.id === "grid" && carried) {
      var state = carried;
      carried = null;
      putBack(elt, state);
    }
    // A row swapped in (its save's answer) keeps its tick (probe 84a D4: it came back
    // unticked while the count still said it was selected).
    if (elt.id.indexOf("row-") === 0) {
      var picked = document.getElementById("delete-ids");
      var box = elt.querySelector("[data-select]");
      if (picked && box && picked.value.split(",").indexOf(box.value) >= 0) box.checked = true;
    }
    if (elt.id.indexOf("row-") === 0 || elt.id === "grid") {
      catchUpLive();
      tabStop();
      playSoon();
    }
  });

  // One cell is always in the Tab order, so the keyboard reaches the grid (probe 61e D6:
  // no cell could be reached before one was clicked).
  function tabStop() {
    var grid = document.getElementById("grid");
    if (!grid || grid.querySelector("td.cell[tabindex='0']")) return;
    var first = grid.querySelector("td.cell");
    if (first) first.setAttribute("tabindex", "0");
  }
  document.addEventListener("DOMContentLoaded", tabStop);

  // A row just added (its id in the address's `added`) takes the focus on its first cell that
  // opens an editor, scrolled into view (probe 68b D13: it was off-screen, unfocused).
  // (The grid may come after the page, in a request of its own: looked for until found.)
  var addedFocused = false;
  function focusAdded() {
    var added = !addedFocused && new URLSearchParams(window.location.search).get("added");
    var row = added && document.getElementById("row-" + added);
    var cell = row && (row.querySelector("td.cell[hx-get]") || row.querySelector("td.cell"));
    if (!cell) return;
    addedFocused = true;
    focusCell(cell);
    cell.scrollIntoView({ block: "center" });
  }
  document.addEventListener("DOMContentLoaded", focusAdded);
  document.addEventListener("htmx:load", focusAdded);

  // Selects and date pickers save as soon as they change.
  document.addEventListener("change", function (e) {
    var editor = e.target.closest && e.target.closest(".cell-editor");
    if (editor && e.target.tagName === "SELECT" && !editor.dataset.keyed) {
      var td = editor.closest("td.cell");
      pendingFocus = { record: td.parentElement.dataset.record, field: td.dataset.field, dr: 0, dc: 0 };
      htmx.trigger(editor, "submit");
    }
    // The environment switcher applies its choice at once (no inline handlers: see the CSP),
    // but for one stepped to with the arrow keys, which waits for Enter (probe 69c D1: the
    // first ArrowDown switched the environment; WCAG 3.2.2).
    if (e.target.matches("select[data-autosubmit]") && !e.target.dataset.stepped) {
      e.target.form.submit();
    }
    if (e.target.matches("[data-select], [data-select-all]")) {
      var grid = e.target.closest("#grid");
      if (e.target.matches("[data-select-all]")) {
        grid.querySelectorAll("[data-select]").forEach(function (b) { b.checked = e.target.checked; });
      }
      syncSelection(grid);
    }
  });
})();

// Files tab: uploads side by side, each with its own progress bar; the list below then
// shows each file's extraction live.
(function () {
  "use strict";

  function uploadFiles(form, files) {
    var list = document.getElementById("uploads");
    var token = document.querySelector('meta[name="csrf-token"]').content;
    Array.prototype.forEach.call(files, function (file) {
      var li = document.createElement("li");
      li.className = "upload";
      li.appendChild(document.createTextNode(file.name + " "));
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", "Uploading " + file.name);
      li.appendChild(bar);
      list.appendChild(li);
      var data = new FormData();
      data.append("file", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.upload);
      xhr.setRequestHeader("X-CSRF-Token", token);
      xhr.setRequestHeader("HX-Request", "true");
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) bar.value = Math.round((e.loaded * 100) / e.total);
      };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          li.remove();
          var target = document.getElementById("files");
          if (target) target.innerHTML = xhr.responseText;
        } else {
          li.className = "upload err-text";
          li.textContent = file.name + ": not uploaded";
          var toasts = document.getElementById("toasts");
          if (toasts) toasts.insertAdjacentHTML("beforeend", xhr.responseText);
        }
      };
      xhr.onerror = function () {
        li.className = "upload err-text";
        li.textContent = file.name + ": the upload was cut off";
      };
      xhr.send(data);
    });
  }

  document.addEventListener("change", function (e) {
    if (e.target.id === "file-input") {
      uploadFiles(e.target.form, e.target.files);
      e.target.value = "";
    }
    // "Import into" follows the file's sheet picked, to the sheet of its name.
    if (e.target.id === "source") {
      var picked = e.target.selectedOptions[0];
      var dest = document.getElementById("dest");
      if (picked && picked.dataset.dest && dest) dest.value = picked.dataset.dest;
    }
  });
  function zone(e) { return e.target.closest && e.target.closest(".dropzone"); }
  document.addEventListener("dragover", function (e) {
    var z = zone(e);
    if (z) { e.preventDefault(); z.classList.add("over"); }
  });
  document.addEventListener("dragleave", function (e) {
    var z = zone(e);
    if (z) z.classList.remove("over");
  });
  document.addEventListener("drop", function (e) {
    var z = zone(e);
    if (z) { e.preventDefault(); z.classList.remove("over"); uploadFiles(z, e.dataTransfer.files); }
  });
})();

// Actions: buttons on or off from the counts and the selection (with a tooltip saying why),
// their dialogs (confirmation, input form), and the toolbar while a job blocks it.
(function () {
  "use strict";

  function num(id) {
    var el = document.getElementById(id);
    return el ? parseInt(el.textContent, 10) || 0 : 0;
  }

  function selectedIds() {
    var ids = document.getElementById("delete-ids");
    return ids && ids.value ? ids.value.split(",").filter(Boolean) : [];
  }

  // The selected rows that show errors (the grid marks them `invalid`).
  function selectedErrors() {
    var rows = document.querySelectorAll("#grid [data-select]:checked");
    return Array.prototype.filter.call(rows, function (b) {
      var tr = b.closest("tr");
      return tr && tr.classList.contains("invalid");
    }).length;
  }

  // Records whose changes the record hook is still checking (trackChanges): the sheet's,
  // as the server counted them, or at least the rows shown as checking.
  function checkingCount() {
    var grid = document.getElementById("grid");
    var counted = grid ? parseInt(grid.dataset.checking, 10) || 0 : 0;
    return Math.max(counted, document.querySelectorAll("#grid tr.checking").length);
  }

  // A count and its noun, as words::counted writes them ("1 record", "4,210 records").
  function counted(n, one, many) {
    return n.toLocaleString("en-US") + " " + (n === 1 ? one : many);
  }

  // The same checks, in the same order, as grid_actions::off_because.
  function offBecause(button, s) {
    var has = (button.dataset.constraints || "").split(" ");
    if (button.dataset.error) return button.dataset.error;
    if (s.checking > 0) return "Wait until your team's record hook has checked " + counted(s.checking, "changed record", "changed records") + ".";
    if (has.indexOf("hasData") >= 0 && s.total === 0) return "There are no records yet.";
    if (has.indexOf("hasAllValid") >= 0) {
      var onSelection = button.dataset.scope === "sheet" && s.selected > 0 && !button.hasAttribute("data-ignore-selection");
      var verb = function (n) { return n === 1 ? " has" : " have"; };
      if (onSelection && s.selectedErrors > 0) return counted(s.selectedErrors, "selected record", "selected records") + verb(s.selectedErrors) + " errors; fix them first.";
      if (!onSelection && s.errors > 0) return counted(s.errors, "record", "records") + verb(s.errors) + " errors" + (s.where ? " (" + s.where + ")" : "") + "; fix them first.";
    }
    if (has.indexOf("hasSelection") >= 0 && s.selected === 0) return "Select records first.";
    return "";
  }

  function refreshActions() {
    var total = num("count-all"), errors = num("count-error"), selected = selectedIds().length;
    var bad = selectedErrors(), checking = checkingCount();
    var bar = document.getElementById("workbook-actions");
    var otherTotal = bar ? parseInt(bar.dataset.otherTotal, 10) || 0 : 0;
    var otherErrors = bar ? parseInt(bar.dataset.otherErrors, 10) || 0 : 0;
    var otherChecking = bar ? parseInt(bar.dataset.otherChecking, 10) || 0 : 0;
    // Where a workbook's errors are: this sheet (counted live) and the others.
    var where = [];
    if (bar && errors > 0) where.push(bar.dataset.sheetName + ": " + errors.toLocaleString("en-US"));
    if (bar && bar.dataset.otherErrorSheets) where.push(bar.dataset.otherErrorSheets);
    var blocked = !!document.querySelector("#action-job [data-blocks-toolbar]");
    document.querySelectorAll("button[data-action-dialog]").forEach(function (b) {
      var wb = b.dataset.scope === "workbook";
      var why = blocked ? "Wait until the running action ends."
        : offBecause(b, {
          total: wb ? total + otherTotal : total,
          errors: wb ? errors + otherErrors : errors,
          selected: selected,
          selectedErrors: bad,
          checking: wb ? checking + otherChecking : checking,
          where: wb ? where.join(", ") : "",
        });
      b.disabled = !!why;
      b.title = why || b.dataset.tooltip || "";
    });
    document.querySelectorAll(".grid-actions button, .grid-actions a.button").forEach(function (el) {
      if (el.matches("[data-action-dialog]")) return;
      if (blocked) { el.setAttribute("aria-disabled", "true"); el.classList.add("blocked"); if (el.tagName === "BUTTON") { el.dataset.wasBlocked = "1"; el.disabled = true; } }
      else if (el.classList.contains("blocked")) {
        el.removeAttribute("aria-disabled"); el.classList.remove("blocked");
        if (el.dataset.wasBlocked) { delete el.dataset.wasBlocked; el.disabled = el.id === "delete-button" && selectedIds().length === 0; }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", refreshActions);
  document.addEventListener("htmx:afterSettle", refreshActions);
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("[data-select], [data-select-all]")) refreshActions();
  });

  // The grid's view and selection travel with the click (a sheet action's subject).
  function fill(form) {
    var grid = document.getElementById("grid");
    ["filter", "field", "q", "qf"].forEach(function (k) {
      if (form.elements[k]) form.elements[k].value = grid ? grid.dataset[k] || "" : "";
    });
    if (form.elements.ids) form.elements.ids.value = selectedIds().join(",");
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("button[data-action-dialog]");
    if (button) {
      if (button.disabled) return;
      var dialog = document.getElementById(button.dataset.actionDialog);
      if (!dialog) return;
      var form = dialog.querySelector("form");
      fill(form);
      if (dialog.hasAttribute("data-asks")) dialog.showModal();
      else htmx.trigger(form, "submit");
      return;
    }
    var close = e.target.closest && e.target.closest("[data-close-dialog]");
    if (close) close.closest("dialog").close();
  });

  // A started action closes its dialog; its job shows in #action-job, brought into view
  // (probe 78c D17: below the grid, the click seemed to do nothing).
  document.addEventListener("htmx:afterRequest", function (e) {
    var dialog = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("dialog.action-dialog");
    if (!dialog || !e.detail.successful) return;
    if (dialog.open) dialog.close();
    setTimeout(function () {
      var job = document.getElementById("action-job");
      if (job && job.scrollIntoView) job.scrollIntoView({ block: "nearest" });
    }, 0);
  });
})();

// Bulk fixes: a column's menu (find and replace, set, clear, its values) and deleting
// what the view shows. The view and the selection travel with each form.
(function () {
  "use strict";

  function view() {
    var grid = document.getElementById("grid");
    var ids = document.getElementById("delete-ids");
    return {
      filter: grid ? grid.dataset.filter || "" : "",
      field: grid ? grid.dataset.field || "" : "",
      q: grid ? grid.dataset.q || "" : "",
      qf: grid ? grid.dataset.qf || "" : "",
      ids: ids ? ids.value : "",
    };
  }

  // How many records the view holds, as " (N records)": a narrowed view's count, else its
  // tab's (probe 76a D2: an unfiltered sheet's question gave none). A narrowed view says
  // what its count line says, "no record matches" or "still counting" too (probe 77a D6).
  function viewCount(filter) {
    var counted = document.getElementById("view-count");
    if (counted) {
      if (counted.hasAttribute("data-background")) return " (still counting)";
      return counted.textContent.trim() ? " (" + counted.textContent.trim() + ")" : "";
    }
    var tab = document.getElementById(filter === "valid" ? "count-valid" : filter === "error" ? "count-error" : "count-all");
    var n = tab ? parseInt(tab.textContent.replace(/\D/g, ""), 10) : NaN;
    return isNaN(n) ? "" : " (" + n.toLocaleString("en-US") + (n === 1 ? " record)" : " records)");
  }

  function query(v) {
    return Object.keys(v).map(function (k) { return k + "=" + encodeURIComponent(v[k]); }).join("&");
  }

  document.addEventListener("click", function (e) {
    var menu = e.target.closest && e.target.closest("[data-column-menu]");
    if (menu) {
      var dialog = document.getElementById("column-dialog");
      var v = view();
      var refused = dialog.querySelector("[data-dialog-error]");
      if (refused) refused.hidden = true;
      dialog.querySelector("[data-column-label]").textContent = menu.dataset.columnLabel;
      var selected = v.ids ? v.ids.split(",").length : 0;
      dialog.querySelector("[data-scope-note]").textContent = selected
        ? "Changes apply to the " + selected.toLocaleString("en-US") + (selected === 1 ? " selected record." : " selected records.")
        : "Changes apply to every record this view shows.";
      // Clearing asks first, naming the column and how many (probe 71d D6: thousands of
      // cells went on one click).
      var many = selected
        ? "the " + selected.toLocaleString("en-US") + (selected === 1 ? " selected record" : " selected records")
        : "every record this view shows" + viewCount(v.filter);
      document.getElementById("bulk-form-clear").setAttribute("hx-confirm",
        "Clear " + menu.dataset.columnLabel + " in " + many + "? Undo puts the values back.");
      // Another column's menu starts empty: what was typed for the last one would be sent
      // for this one (probe 57a).
      var another = dialog.dataset.lastColumn !== menu.dataset.columnMenu;
      dialog.dataset.lastColumn = menu.dataset.columnMenu;
      dialog.querySelectorAll("form").forEach(function (form) {
        if (another) {
          form.querySelectorAll("input[type=text], input[type=search], input:not([type])").forEach(function (input) {
            input.value = "";
          });
          form.querySelectorAll("input[type=checkbox]").forEach(function (box) { box.checked = false; });
        }
        form.elements.column.value = menu.dataset.columnMenu;
        Object.keys(v).forEach(function (k) { if (form.elements[k]) form.elements[k].value = v[k]; });
      });
      var sheet = dialog.dataset.sheet;
      // The view is counted again for this opening: a change sent before the count comes
      // goes unchecked rather than checked against the last opening's.
      document.getElementById("column-values").innerHTML = "";
      htmx.ajax("GET", "/grid/" + sheet + "/values?column=" + encodeURIComponent(menu.dataset.columnMenu) + "&" + query(v),
        { target: "#column-values", swap: "innerHTML" });
      dialog.showModal();
      return;
    }
    var del = e.target.closest && e.target.closest("[data-delete-shown]");
    if (del) {
      var d = document.getElementById("delete-dialog");
      var grid = document.getElementById("grid");
      htmx.ajax("GET", "/grid/" + grid.dataset.sheet + "/bulk/delete?" + query(view()),
        { target: "#delete-confirm", swap: "innerHTML" });
      d.showModal();
    }
  });

  // A bulk change sent closes its dialog; its toast shows in #bulk-status. A delete refused
  // because the view changed since it was counted counts it again, so the question names
  // what a click now deletes (probe 68b D9: it kept offering the old count).
  document.addEventListener("htmx:afterRequest", function (e) {
    var dialog = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("dialog.bulk-dialog");
    if (!dialog || !dialog.open || e.detail.elt.tagName !== "FORM") return;
    if (e.detail.successful) {
      // Done: the next opening starts empty (probe 78c D9: a value typed after an undo
      // went after the last one).
      dialog.querySelectorAll("form").forEach(function (form) {
        form.querySelectorAll("input[type=text], input[type=search], input:not([type])").forEach(function (input) {
          input.value = "";
        });
      });
      dialog.close();
    } else if (dialog.querySelector("[data-dialog-error]") && e.detail.xhr) {
      // Refused: said in the dialog, where the person is looking (probe 79b D6: the toast
      // was behind it). Read as text: nothing of the answer runs.
      var said = dialog.querySelector("[data-dialog-error]");
      var doc = new DOMParser().parseFromString(e.detail.xhr.responseText || "", "text/html");
      said.textContent = (doc.body.textContent || "").trim() || "The change was refused.";
      said.hidden = false;
    } else if (dialog.id === "delete-dialog" && e.detail.xhr && e.detail.xhr.status === 409) {
      var grid = document.getElementById("grid");
      htmx.ajax("GET", "/grid/" + grid.dataset.sheet + "/bulk/delete?" + query(view()),
        { target: "#delete-confirm", swap: "innerHTML" });
    }
  });
})();

// The mapping screen asks before an import leaves a required field without a column: every
// record would have an error there.
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("button[data-required-fields]");
    if (!button || !button.form) return;
    var selects = button.form.querySelectorAll("select[name^='map:']");
    var missing = JSON.parse(button.dataset.requiredFields || "[]").filter(function (f) {
      return !Array.prototype.some.call(selects, function (s) { return s.value === f[0]; });
    }).map(function (f) { return f[1]; });
    if (missing.length && !window.confirm("Required fields with no column: " + missing.join(", ") +
        ". Every record will have an error there. Import anyway?")) {
      e.preventDefault();
    }
  });
})();

// A job page's mapping screen goes once the job runs or ends (run from another tab, say):
// its Run import could only be refused. The focus it held goes to the job's status, not to
// the top of the page (probe 69c D2).
document.addEventListener("htmx:afterSwap", function (e) {
  var target = e.detail && e.detail.target;
  var state = target && target.id === "job-status" && target.querySelector("#job-state");
  var form = document.getElementById("plan-form");
  if (state && form && ["created", "planning", "ready"].indexOf(state.dataset.status) < 0) {
    // (Its button, disabled while the request ran, may have dropped the focus already.)
    var focused = form.contains(document.activeElement) || document.activeElement === document.body;
    form.remove();
    if (focused) {
      target.setAttribute("tabindex", "-1");
      target.focus();
    }
  }
});

// A job page opened at its status (after Run import) has the focus there.
(function () {
  function atStatus() {
    var status = location.hash === "#job-status" && document.getElementById("job-status");
    if (!status) return;
    status.setAttribute("tabindex", "-1");
    status.focus();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", atStatus);
  else atStatus();
})();

// An action's outcome dialog takes the focus as it opens, keeps Tab within it, closes with
// Escape as with its button, and gives the focus back (probe 69c D15: Tab walked the page
// behind it, and nothing closed it from the keyboard).
(function () {
  var opener = null;
  function dialog() { return document.getElementById("job-outcome"); }
  function focusables(d) {
    return Array.prototype.filter.call(d.querySelectorAll("a[href], button:not([disabled])"), function (el) {
      return !el.closest("[hidden]");
    });
  }
  function take() {
    var d = dialog();
    if (!d || d.dataset.focused) return;
    d.dataset.focused = "1";
    if (!opener && document.activeElement && document.activeElement !== document.body) opener = document.activeElement;
    // Its own button first: a next step may lead away from the page.
    var first = ["#outcome-ack", "#outcome-next", "#outcome-stop-waiting"].map(function (q) { return d.querySelector(q); })
      .filter(Boolean)[0] || focusables(d)[0];
    if (first) first.focus();
  }
  function giveBack() {
    if (dialog() || document.activeElement !== document.body) return;
    if (opener && document.contains(opener)) opener.focus();
    opener = null;
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", take);
  else take();
  document.addEventListener("htmx:afterSettle", function () { take(); giveBack(); });
  document.addEventListener("keydown", function (e) {
    var d = dialog();
    if (!d) return;
    if (e.key === "Escape") {
      var ack = d.querySelector("#outcome-ack");
      if (ack) { e.preventDefault(); ack.click(); }
      return;
    }
    if (e.key !== "Tab") return;
    var list = focusables(d);
    if (!list.length) return;
    var at = list.indexOf(document.activeElement);
    var next = at < 0 ? 0 : (at + (e.shiftKey ? -1 : 1) + list.length) % list.length;
    e.preventDefault();
    e.stopPropagation();
    list[next].focus();
  }, true);
})();

// An undo of a bulk change refused (undone meanwhile from another tab, say): the list of
// bulk changes is asked for again, so it stops offering it (probe 83a D3).
document.addEventListener("htmx:responseError", function (e) {
  var path = e.detail && e.detail.pathInfo && e.detail.pathInfo.requestPath;
  if (path && /^\/grid\/[^/]+\/bulk\/[^/]+\/undo$/.test(path)) {
    document.body.dispatchEvent(new Event("bulk-undone"));
  }
});

// A record's history opens below the page of rows: it comes into view when it arrives.
document.addEventListener("htmx:afterSwap", function (e) {
  var target = e.detail && e.detail.target;
  if (target && target.id === "record-history" && target.firstElementChild && target.scrollIntoView) {
    target.scrollIntoView({ block: "nearest" });
  }
});

// Rows the record hook is checking turn "not checked" after 2 minutes with no event to say
// so: while the grid shows some, it is asked for again every 10 s, and its actions follow
// (probe 74c D3: they stayed held back until a reload).
setInterval(function () {
  var grid = document.getElementById("grid");
  var live = document.querySelector("[data-live-refresh]");
  if (!grid || !live || document.hidden) return;
  var checking = (parseInt(grid.dataset.checking, 10) || 0) > 0 || grid.querySelector("tr.checking");
  if (checking) htmx.trigger(live, "sse:changed");
}, 10000);
