// gitchat's page behaviour: sending with Enter, pending messages, time order
// without repeats, sticking to the bottom, older messages, theme, copy.
// No inline script anywhere: this file is the only code the page runs besides htmx.
(function () {
  "use strict";
  // The members panel comes back with its error inline under a 4xx status: show it (htmx swaps only 2xx by default).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (event.detail.target && event.detail.target.id === "members-panel" && status >= 400 && status < 500) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();

(function () {
  "use strict";
  var log = document.getElementById("log");
  var list = document.getElementById("messages");
  if (!log || !list) return;
  var marker = document.getElementById("new-marker");
  var form = document.getElementById("composer");
  var textarea = document.getElementById("content");
  var errorBox = document.getElementById("composer-error");
  var empty = document.getElementById("empty");

  // --- Times: the clock time in the list (a chat's day dividers give the day), the full date and time on hover.
  var clockFormat = typeof Intl !== "undefined" ? new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" }) : null;
  var fullFormat = typeof Intl !== "undefined" ? new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" }) : null;
  function refreshTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) return;
      el.textContent = clockFormat ? clockFormat.format(date) : date.toLocaleTimeString();
      el.title = fullFormat ? fullFormat.format(date) : date.toLocaleString();
    });
  }
  refreshTimes(list);
  setInterval(function () { refreshTimes(list); }, 30000);

  // --- A very tall message is folded, with a button that shows the rest.
  var FOLD_PX = 400;
  function foldTall(li) {
    var content = li.querySelector(".content");
    if (!content || content.classList.contains("folded") || content.scrollHeight <= FOLD_PX) return;
    content.classList.add("folded");
    var more = document.createElement("button");
    more.type = "button";
    more.className = "show-more";
    more.textContent = "Show more";
    more.setAttribute("aria-expanded", "false");
    content.after(more);
  }
  list.querySelectorAll("li.message").forEach(foldTall);

  // --- Scrolling: stay at the bottom unless the reader scrolled up.
  var stick = true;
  function atBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 48; }
  function toBottom() { log.scrollTop = log.scrollHeight; if (marker) marker.hidden = true; }
  log.addEventListener("scroll", function () {
    stick = atBottom();
    if (stick && marker) marker.hidden = true;
  });
  if (marker) marker.addEventListener("click", function () { toBottom(); stick = true; });
  toBottom();

  // --- Every message that arrives (sent, polled, streamed, older) passes here.
  function firstMessage() { return list.querySelector("li.message"); }
  function placeInTimeOrder(li) {
    var id = li.getAttribute("data-id");
    var before = li.previousElementSibling;
    while (before && before.classList.contains("message") && !before.classList.contains("pending") && before.getAttribute("data-id") > id) {
      before = before.previousElementSibling;
    }
    if (before !== li.previousElementSibling) {
      if (before) before.after(li); else list.prepend(li);
    }
  }
  var observer = new MutationObserver(function (mutations) {
    var appendedNew = false;
    mutations.forEach(function (mutation) {
      mutation.addedNodes.forEach(function (node) {
        if (node.nodeType !== 1 || !node.classList.contains("message") || node.classList.contains("pending")) return;
        var id = node.getAttribute("data-id");
        var copies = list.querySelectorAll('li.message[data-id="' + id + '"]');
        if (copies.length > 1) { node.remove(); return; }
        placeInTimeOrder(node);
        // Only a message that lands after every other is new: older ones loaded above are not.
        var later = node.nextElementSibling;
        while (later && !(later.classList.contains("message") && !later.classList.contains("pending"))) later = later.nextElementSibling;
        var older = !!later;
        refreshTimes(node);
        foldTall(node);
        var pending = list.querySelector("li.pending");
        if (pending && pending.getAttribute("data-content") === node.querySelector(".content").textContent) pending.remove();
        if (!older) appendedNew = true;
      });
    });
    if (empty) empty.hidden = !!firstMessage();
    if (appendedNew) {
      if (stick) { toBottom(); trimWindow(); }
      else if (marker) marker.hidden = false;
    }
  });

  // Only a window of the conversation lives in the page: at the bottom, beyond
  // WINDOW messages the oldest are dropped, and scrolling up loads them again.
  var WINDOW = 300;
  function trimWindow() {
    var messages = list.querySelectorAll("li.message:not(.pending)");
    if (messages.length <= WINDOW + 50) return;
    var drop = messages.length - WINDOW;
    for (var i = 0; i < drop; i++) messages[i].remove();
    var first = list.querySelector("li.message:not(.pending)");
    var poller = document.getElementById("poller");
    if (!first || !poller || !window.htmx) return;
    var base = poller.getAttribute("hx-get").split("?")[0];
    var stale = document.getElementById("older");
    if (stale) stale.remove();
    var loader = document.createElement("li");
    loader.id = "older";
    loader.className = "older";
    loader.setAttribute("hx-get", base + "?before=" + first.getAttribute("data-id"));
    loader.setAttribute("hx-trigger", "intersect once");
    loader.setAttribute("hx-swap", "outerHTML");
    loader.textContent = "Loading older messages…";
    list.prepend(loader);
    window.htmx.process(loader);
    toBottom();
  }
  observer.observe(list, { childList: true });
  // An image in a message takes its height only once loaded: at the bottom, stay there.
  list.addEventListener("load", function (event) {
    if (event.target && event.target.tagName === "IMG" && stick) toBottom();
  }, true);

  // Older messages: keep what the reader sees in place while they load above it.
  var saved = null;
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "older") saved = { height: log.scrollHeight, top: log.scrollTop };
  });
  document.body.addEventListener("htmx:afterSwap", function () {
    if (saved) { log.scrollTop = saved.top + (log.scrollHeight - saved.height); saved = null; }
  });

  // --- Sending: Enter sends, Shift+Enter adds a line; pending at once; text kept on error.
  function errorText(xhr) {
    if (!xhr || xhr.status === 0) return "Could not reach the server. Your message is kept; try again.";
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.error && body.error.message) {
        var retry = xhr.getResponseHeader("retry-after");
        return body.error.message + (xhr.status === 429 && retry ? " (try again in " + retry + " s)" : "");
      }
    } catch (e) {}
    return "The server could not take this message (" + xhr.status + "). Your message is kept.";
  }
  function showError(box, text) { if (box) { box.textContent = text; box.hidden = !text; } }
  if (textarea && form) {
    var grow = function () { textarea.style.height = "auto"; textarea.style.height = Math.min(textarea.scrollHeight, 240) + "px"; };
    textarea.addEventListener("input", grow);
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey && !event.isComposing) {
        event.preventDefault();
        if (textarea.value.trim() !== "" || pendingFiles.length > 0) form.requestSubmit();
      }
    });
    // A draft is kept per channel (in this browser) across switching channels and reloading.
    var draftKey = "gitchat-draft:" + location.pathname;
    var saveDraft = function () {
      try {
        if (textarea.value) localStorage.setItem(draftKey, textarea.value);
        else localStorage.removeItem(draftKey);
      } catch (e) {}
    };
    try {
      var draft = localStorage.getItem(draftKey);
      if (draft && !textarea.value) { textarea.value = draft; grow(); }
    } catch (e) {}
    textarea.addEventListener("input", saveDraft);
    // The composer has focus on load, its caret after any draft.
    textarea.focus();
    textarea.setSelectionRange(textarea.value.length, textarea.value.length);
    // The text is taken when the person sends it, not when htmx gets round to the
    // request: while one message is on its way the next waits in this queue (the
    // form has hx-sync "queue all"), so two messages never merge into one.
    var outbox = [];   // sent by the person, request not yet issued; oldest first
    var inFlight = []; // request issued, no answer yet; oldest first
    // Each message gets an Idempotency-Key when it is queued. One that failed
    // (an error, or no answer: it may have been stored all the same) keeps its
    // key: sent again unchanged, the server gives back what it stored, never a copy.
    var failed = [];   // { text, key } of messages put back in the box (text: with its files' names and sizes)
    function newKey() {
      var bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes); // crypto.randomUUID needs a secure context; this does not
      return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    }
    // A message is its text and its files: the same text with other files is another message, with a key of its own.
    function said(text, files) {
      return [text].concat(files.map(function (f) { return f.name + "\u0000" + f.size; })).join("\u0001");
    }
    function keyFor(text, files) {
      var whole = said(text, files);
      for (var i = 0; i < failed.length; i++) {
        if (failed[i].text === whole) return failed.splice(i, 1)[0].key;
      }
      return newKey();
    }
    // --- Files: picked with the button, pasted or dropped; listed, each with a remove
    // button, until the message goes. The server checks them again (the same limits).
    var pendingFiles = [];
    var pendingList = document.getElementById("pending-files");
    var fileInput = document.getElementById("file-input");
    var attachButton = document.getElementById("attach");
    var maxImage = Number(form.getAttribute("data-max-image")) || Infinity;
    var maxFile = Number(form.getAttribute("data-max-file")) || Infinity;
    var imageTypes = (form.getAttribute("data-image-types") || "").split(" ");
    var MAX_FILES = 10;
    function sizeText(bytes) {
      return bytes < 1024 ? bytes + " B" : bytes < 1048576 ? (bytes / 1024).toFixed(1) + " KB" : (bytes / 1048576).toFixed(1) + " MB";
    }
    function renderPending() {
      if (!pendingList) return;
      pendingList.textContent = "";
      pendingFiles.forEach(function (file, index) {
        var li = document.createElement("li");
        var name = document.createElement("span");
        name.className = "file-name";
        name.textContent = file.name;
        var size = document.createElement("span");
        size.className = "file-size";
        size.textContent = sizeText(file.size);
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "remove-file";
        remove.setAttribute("data-index", String(index));
        remove.setAttribute("aria-label", "Remove " + file.name);
        remove.textContent = "×";
        li.append(name, " ", size, " ", remove);
        pendingList.append(li);
      });
      pendingList.hidden = pendingFiles.length === 0;
      // A message may be files alone.
      textarea.required = pendingFiles.length === 0;
    }
    function addFiles(files) {
      var problems = [];
      Array.prototype.forEach.call(files, function (file) {
        var image = imageTypes.indexOf(file.type) !== -1;
        var limit = image ? maxImage : maxFile;
        if (file.size === 0) problems.push(file.name + " is empty");
        else if (file.size > limit) problems.push(file.name + " is " + sizeText(file.size) + "; " + (image ? "an image" : "a file") + " may be at most " + sizeText(limit));
        else if (pendingFiles.length >= MAX_FILES) problems.push(file.name + " is one too many: a message takes at most " + MAX_FILES + " files");
        else pendingFiles.push(file);
      });
      renderPending();
      showError(errorBox, problems.join(". "));
    }
    if (attachButton && fileInput) {
      attachButton.addEventListener("click", function () { fileInput.click(); });
      fileInput.addEventListener("change", function () {
        addFiles(fileInput.files);
        fileInput.value = "";
        textarea.focus();
      });
    }
    if (pendingList) pendingList.addEventListener("click", function (event) {
      var remove = event.target.closest ? event.target.closest("button.remove-file") : null;
      if (!remove) return;
      pendingFiles.splice(Number(remove.getAttribute("data-index")), 1);
      renderPending();
      textarea.focus();
    });
    // A pasted screenshot (or copied file) joins the message; pasted text is pasted as ever.
    textarea.addEventListener("paste", function (event) {
      var data = event.clipboardData;
      if (!data || !data.files || data.files.length === 0) return;
      if (!data.getData("text/plain")) event.preventDefault();
      addFiles(data.files);
    });
    var dropZone = document.querySelector(".chat") || form;
    dropZone.addEventListener("dragover", function (event) {
      if (!event.dataTransfer || Array.prototype.indexOf.call(event.dataTransfer.types, "Files") === -1) return;
      event.preventDefault();
      form.classList.add("dropping");
    });
    dropZone.addEventListener("dragleave", function (event) {
      if (!dropZone.contains(event.relatedTarget)) form.classList.remove("dropping");
    });
    dropZone.addEventListener("drop", function (event) {
      form.classList.remove("dropping");
      if (!event.dataTransfer || event.dataTransfer.files.length === 0) return;
      event.preventDefault();
      addFiles(event.dataTransfer.files);
      textarea.focus();
    });

    // Capture phase: runs before htmx's own submit handler.
    document.addEventListener("submit", function (event) {
      if (event.target !== form || (textarea.value === "" && pendingFiles.length === 0)) return;
      var text = textarea.value;
      var files = pendingFiles;
      pendingFiles = [];
      renderPending();
      var li = document.createElement("li");
      li.className = "message pending";
      li.setAttribute("data-content", text);
      var meta = document.createElement("div");
      meta.className = "meta";
      meta.textContent = "sending…";
      var content = document.createElement("div");
      content.className = "content";
      content.textContent = text;
      li.append(meta, content);
      if (files.length > 0) {
        var names = document.createElement("div");
        names.className = "pending-names";
        names.textContent = files.map(function (f) { return f.name; }).join(", ");
        li.append(names);
      }
      list.append(li);
      outbox.push({ text: text, files: files, li: li, key: keyFor(text, files) });
      textarea.value = "";
      saveDraft();
      grow();
      showError(errorBox, "");
      toBottom();
      stick = true;
      textarea.focus();
    }, true);
    form.addEventListener("htmx:configRequest", function (event) {
      var entry = outbox.shift();
      if (!entry) { event.preventDefault(); return; }
      event.detail.parameters.content = entry.text;
      // Each file a part of its own, named "file" (htmx appends every item of an array).
      if (entry.files.length > 0) event.detail.parameters.file = entry.files;
      event.detail.headers["Idempotency-Key"] = entry.key;
      // The box was emptied when it was sent; its "required" no longer speaks for this text.
      event.detail.errors = [];
      inFlight.push(entry);
    });
    form.addEventListener("htmx:afterRequest", function (event) {
      var entry = inFlight.shift();
      if (!entry) return;
      entry.li.remove();
      if (!event.detail.successful) {
        failed.push({ text: said(entry.text, entry.files), key: entry.key });
        if (failed.length > 20) failed.shift();
        // Its files come back too, to send again or remove.
        pendingFiles = entry.files.concat(pendingFiles);
        renderPending();
        textarea.value = textarea.value ? entry.text + "\n" + textarea.value : entry.text;
        saveDraft();
        grow();
        showError(errorBox, errorText(event.detail.xhr));
      }
      textarea.focus();
    });
  }

  // --- Adding a channel.
  var addForm = document.getElementById("add-repository");
  if (addForm) {
    addForm.addEventListener("htmx:afterRequest", function (event) {
      var box = document.getElementById("add-error");
      if (event.detail.successful) { addForm.reset(); showError(box, ""); }
      else showError(box, errorText(event.detail.xhr));
    });
  }

  // --- Copying a commit hash, or a code block's code.
  function copy(button, text, after) {
    var done = function () {
      button.classList.add("copied");
      if (after) { button.textContent = after.copied; }
      setTimeout(function () { button.classList.remove("copied"); if (after) button.textContent = after.idle; }, 1200);
    };
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, function () {});
  }
  list.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target : null;
    if (!target) return;
    var hash = target.closest("button.hash");
    if (hash) { copy(hash, hash.getAttribute("data-copy")); return; }
    var code = target.closest("button.copy-code");
    if (code) { copy(code, code.parentElement.querySelector("code").textContent, { idle: "Copy", copied: "Copied" }); return; }
    var more = target.closest("button.show-more");
    if (more) {
      var content = more.previousElementSibling;
      var folded = content.classList.toggle("folded");
      more.textContent = folded ? "Show more" : "Show less";
      more.setAttribute("aria-expanded", String(!folded));
    }
  });

  // --- The live connection: a thin banner while it is down, and when it is back.
  // Polling is the fallback: it runs only while the live stream is down.
  var banner = document.getElementById("connection");
  var live = false;
  var wasDown = false;
  function say(text, kind) {
    if (!banner) return;
    banner.textContent = "";
    banner.className = "connection" + (kind ? " " + kind : "");
    if (text) banner.append(text);
    banner.hidden = !text;
  }
  document.body.addEventListener("htmx:sseOpen", function () {
    live = true;
    if (wasDown) {
      wasDown = false;
      say("Connected again.", "ok");
      setTimeout(function () { if (live && banner && banner.classList.contains("ok")) say(""); }, 2000);
    }
  });
  document.body.addEventListener("htmx:sseError", function () {
    if (live || !wasDown) say("Reconnecting…", "down");
    live = false;
    wasDown = true;
  });
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (live && event.detail.elt && event.detail.elt.id === "poller") event.preventDefault();
  });
  // A session that ended (signed out elsewhere, expired): say so, with the way back.
  function signedOut() {
    say("", "down");
    var link = document.createElement("a");
    link.href = "/login?next=" + encodeURIComponent(location.pathname);
    link.textContent = "sign in again";
    banner.append("Signed out: ", link, ".");
    banner.hidden = false;
  }
  document.body.addEventListener("htmx:responseError", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 401) signedOut();
  });

  // --- Finding a channel: the filter box above the list; Ctrl+K (Cmd+K) goes there from anywhere.
  var filter = document.getElementById("channel-filter");
  function applyFilter() {
    if (!filter) return;
    var words = filter.value.trim().toLowerCase();
    document.querySelectorAll("#channel-list li").forEach(function (li) {
      li.hidden = words !== "" && li.textContent.toLowerCase().indexOf(words) === -1;
    });
  }
  if (filter) {
    filter.addEventListener("input", applyFilter);
    // The list is replaced every few seconds: keep it filtered.
    document.body.addEventListener("htmx:afterSwap", function (event) { if (event.detail.target && event.detail.target.id === "channel-list") applyFilter(); });
    document.body.addEventListener("htmx:oobAfterSwap", applyFilter);
    filter.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        var first = document.querySelector("#channel-list li:not([hidden]) a");
        if (first) { event.preventDefault(); location.href = first.getAttribute("href"); }
      } else if (event.key === "Escape") {
        filter.value = "";
        applyFilter();
        if (textarea) textarea.focus();
      }
    });
  }
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && (event.key === "k" || event.key === "K")) {
      if (!filter) return;
      event.preventDefault();
      var drawer = document.getElementById("sidebar");
      var menuButton = document.getElementById("menu");
      if (drawer && menuButton && getComputedStyle(menuButton).display !== "none" && !drawer.classList.contains("open")) menuButton.click();
      filter.focus();
      filter.select();
    }
  });

  // --- Theme: follows the system until chosen; the choice is remembered.
  var toggle = document.getElementById("theme-toggle");
  if (toggle) toggle.addEventListener("click", function () {
    var root = document.documentElement;
    var current = root.getAttribute("data-theme") || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
    var next = current === "dark" ? "light" : "dark";
    root.setAttribute("data-theme", next);
    try { localStorage.setItem("gitchat-theme", next); } catch (e) {}
  });

  // --- The sidebar folds away on narrow screens.
  var menu = document.getElementById("menu");
  var sidebar = document.getElementById("sidebar");
  if (menu && sidebar) {
    var setOpen = function (open) {
      sidebar.classList.toggle("open", open);
      menu.setAttribute("aria-expanded", String(open));
    };
    menu.addEventListener("click", function () {
      var open = !sidebar.classList.contains("open");
      setOpen(open);
      // Focus goes with the drawer, not left on the page it covers.
      if (open) {
        var here = sidebar.querySelector("a[aria-current=page]") || sidebar.querySelector("a, button, input");
        if (here) setTimeout(function () { here.focus(); }, 0);
      }
    });
    // Open, it covers the menu button: a tap beside it or Escape folds it away again.
    document.addEventListener("click", function (event) {
      if (sidebar.classList.contains("open") && !sidebar.contains(event.target) && !menu.contains(event.target)) { setOpen(false); menu.focus(); }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && sidebar.classList.contains("open")) { setOpen(false); menu.focus(); }
    });
  }
})();

// The account pages: a "Copy" button beside a secret shown once (a new token, an invite link).
// Delegated from the document: htmx swaps the page's body after each form.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest("button[data-copy-field]") : null;
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy-field"));
    if (!field) return;
    field.select();
    if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(function () {
      button.classList.add("copied");
      setTimeout(function () { button.classList.remove("copied"); }, 1200);
    }, function () {});
  });
})();
