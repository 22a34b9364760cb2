// Setu catalogue: the citation's copy button, and the filters folded on
// a phone. Every page works without this script.
(function () {
  "use strict";

  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  // Older browsers, or a clipboard the page may not write: copy the
  // selection, and leave the text selected either way.
  function copySelection(el) {
    select(el);
    try {
      return document.execCommand("copy");
    } catch (e) {
      return false;
    }
  }

  function wire(button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) {
      return;
    }
    var status = button.parentElement.querySelector(".copy-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = target.textContent.trim();
      var done = function (ok) {
        button.setAttribute("data-copied", ok ? text : "");
        if (status) {
          status.textContent = ok
            ? "Citation copied."
            : "Could not copy: the citation is selected; press Ctrl+C to copy it.";
        }
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { done(true); },
          function () { done(copySelection(target)); }
        );
      } else {
        done(copySelection(target));
      }
    });
  }

  // On a phone the filters would push the results a screen down: start
  // them folded (they stay one tap away; without script they are open).
  var filters = document.querySelector(".filters details");
  if (filters && window.matchMedia && window.matchMedia("(max-width: 55.99rem)").matches) {
    filters.open = false;
  }

  var buttons = document.querySelectorAll("button[data-copy]");
  for (var i = 0; i < buttons.length; i++) {
    wire(buttons[i]);
  }
})();
