/* Report tables: sort by a column, and filter the overview by facility name.
 *
 * Progressive enhancement over the server-rendered tables: without this script they read in
 * the server's order (national prefecture order). A header cell with data-sort="number|text"
 * gets a button; cells may carry data-sort-value (empty = no value, always listed last).
 * A table with data-search-label gets a search field that hides rows whose data-name does
 * not contain the words (compared in NFKC, case-insensitively, as the comment search does).
 */
(function () {
  "use strict";

  function fold(text) {
    return (text || "").normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
  }

  function cellValue(row, index, type) {
    var cell = row.cells[index];
    if (!cell) { return null; }
    var raw = cell.hasAttribute("data-sort-value") ? cell.getAttribute("data-sort-value") : cell.textContent;
    raw = raw.trim();
    if (raw === "") { return null; }
    if (type === "number") {
      var number = Number(raw);
      return isNaN(number) ? null : number;
    }
    return fold(raw);
  }

  function sortBy(table, header, index, type) {
    var body = table.tBodies[0];
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      if (cell.hasAttribute("data-sort")) { cell.removeAttribute("aria-sort"); }
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.map.call(body.rows, function (row, position) {
      return {row: row, value: cellValue(row, index, type), position: position};
    });
    rows.sort(function (a, b) {
      if (a.value === null || b.value === null) {
        if (a.value === b.value) { return a.position - b.position; }
        return a.value === null ? 1 : -1;  // no value last, either way
      }
      var order = type === "number" ? a.value - b.value : a.value.localeCompare(b.value, "ja");
      if (order === 0) { return a.position - b.position; }
      return ascending ? order : -order;
    });
    rows.forEach(function (item) { body.appendChild(item.row); });
  }

  function makeSortable(table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, index) {
      var type = header.getAttribute("data-sort");
      if (!type) { return; }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort-button";
      while (header.firstChild) { button.appendChild(header.firstChild); }
      var icon = document.createElement("span");
      icon.className = "sort-button__icon";
      icon.setAttribute("aria-hidden", "true");
      button.appendChild(icon);
      header.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, header, index, type); });
    });
  }

  function makeSearchable(table) {
    var wrap = table.closest(".table-wrap") || table;
    var field = document.createElement("div");
    field.className = "table-search";
    var label = document.createElement("label");
    label.htmlFor = table.id + "-search";
    label.textContent = table.getAttribute("data-search-label");
    var input = document.createElement("input");
    input.type = "search";
    input.id = table.id + "-search";
    input.autocomplete = "off";
    var status = document.createElement("p");
    status.className = "table-search__status";
    status.id = table.id + "-search-status";
    status.setAttribute("role", "status");
    input.setAttribute("aria-describedby", status.id);
    field.appendChild(label);
    field.appendChild(input);
    field.appendChild(status);
    wrap.parentNode.insertBefore(field, wrap);
    var rows = table.tBodies[0].rows;
    input.addEventListener("input", function () {
      var words = fold(input.value).split(" ").filter(Boolean);
      var shown = 0;
      Array.prototype.forEach.call(rows, function (row) {
        var name = fold(row.getAttribute("data-name"));
        var match = words.every(function (word) { return name.indexOf(word) !== -1; });
        row.hidden = !match;
        if (match) { shown += 1; }
      });
      status.textContent = words.length ? rows.length + "施設中" + shown + "施設を表示" : "";
    });
  }

  document.querySelectorAll("table[data-sortable]").forEach(makeSortable);
  document.querySelectorAll("table[data-search-label]").forEach(makeSearchable);
}());
