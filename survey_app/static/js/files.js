/*
 * File fields in the page's language. A browser draws its own "Choose File" button and
 * "No file chosen" line in the browser's language, whatever the page's: English on a
 * Vietnamese page in an English browser, and the other way round. Here each file field
 * gets a button and a line naming the chosen file in the page's language (the texts
 * come from this script's own data-choose and data-none, set by base.html).
 *
 * The field itself is laid, transparent, over the new button: a tap or a click on the
 * button is a tap on the field, keyboards focus it (the button shows the focus ring),
 * and screen readers find it there. The button and the line are hidden from them: the
 * field already says what it holds. Without JavaScript the browser's own field shows.
 */
"use strict";
(function () {
  var script = document.currentScript;
  var choose = script && script.getAttribute("data-choose");
  var none = script && script.getAttribute("data-none");
  if (!choose || !none) return;
  Array.prototype.forEach.call(document.querySelectorAll('input[type="file"]'), function (input) {
    var pick = document.createElement("span");
    pick.className = "file-pick";
    var target = document.createElement("span");
    target.className = "file-target";
    var button = document.createElement("span");
    button.className = "file-button";
    button.setAttribute("aria-hidden", "true");
    button.textContent = choose;
    var chosen = document.createElement("span");
    chosen.className = "file-chosen";
    chosen.setAttribute("aria-hidden", "true");
    input.parentNode.insertBefore(pick, input);
    target.appendChild(input);
    target.appendChild(button);
    pick.appendChild(target);
    pick.appendChild(chosen);
    function show() {
      var names = Array.prototype.map.call(input.files || [], function (file) {
        return file.name;
      });
      chosen.textContent = names.length ? names.join(", ") : none;
    }
    input.addEventListener("change", show);
    if (input.form) {
      input.form.addEventListener("reset", function () {
        setTimeout(show); // the field is emptied after the event
      });
    }
    show();
  });
})();
