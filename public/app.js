// gitchat's page behaviour: sending with Enter, pending messages, time order
// without repeats, sticking to the bottom, older messages, theme, copy.
// No inline script anywhere: this file is the only code the page runs besides htmx.
(function () {
  "use strict";
  // The members panel and the search results come back with their error inline under a 4xx status: show it (htmx swaps only 2xx by default).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var target = event.detail.target && event.detail.target.id;
    if ((target === "members-panel" || target === "search-results") && status >= 400 && status < 500) {
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
    root.querySelectorAll(".edited[data-edited]").forEach(function (el) {
      var date = new Date(el.getAttribute("data-edited"));
      if (!isNaN(date.getTime())) el.title = "Edited " + (fullFormat ? fullFormat.format(date) : date.toLocaleString());
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

  // Messages that arrived after the page was loaded have a higher cursor: only they can be new.
  var loadedCursor = Number(list.getAttribute("data-cursor")) || 0;

  // --- Every message that arrives (sent, polled, streamed, older) passes here.
  function firstMessage() { return list.querySelector("li.message"); }
  function placeInTimeOrder(li) {
    var id = li.getAttribute("data-id");
    var before = li.previousElementSibling;
    // Dividers (days, "New") are laid out again after every change: walk past them.
    while (before && (before.classList.contains("divider") || (before.classList.contains("message") && !before.classList.contains("pending") && before.getAttribute("data-id") > id))) {
      before = before.previousElementSibling;
    }
    if (before !== li.previousElementSibling) {
      if (before) before.after(li); else list.prepend(li);
    }
  }
  // A message arrives again when it changed (edited, deleted, a reaction, a
  // reply): with a newer cursor it takes the place of the one shown; with the
  // same or an older cursor it is a repeat, and dropped. A reply never stays
  // in the channel: it goes to its thread's panel when that is open.
  var received = typeof WeakSet !== "undefined" ? new WeakSet() : null;
  function cursorOf(li) { return Number(li.getAttribute("data-cursor")) || 0; }
  /** `node` is in `container`: "new", or "replaced" (it took the old one's place), or "dropped" (a repeat). */
  function upsert(container, node) {
    var id = node.getAttribute("data-id");
    var copies = container.querySelectorAll('li.message[data-id="' + id + '"]');
    var old = null;
    for (var i = 0; i < copies.length; i++) if (copies[i] !== node && !copies[i].classList.contains("pending")) old = copies[i];
    if (!old) return "new";
    if (cursorOf(node) <= cursorOf(old)) { node.remove(); return "dropped"; }
    carryOver(old, node);
    old.replaceWith(node);
    return "replaced";
  }
  /** What the reader was doing with the old element goes on in the new one: an edit, and where focus was. */
  function carryOver(old, node) {
    var editor = old.querySelector("form.editor");
    if (editor) { node.classList.add("editing"); node.querySelector(".content").after(editor); }
    var active = document.activeElement;
    if (active && old.contains(active) && !(editor && editor.contains(active))) {
      var emoji = active.getAttribute("data-emoji");
      var same = emoji ? node.querySelector('button.reaction[data-emoji="' + CSS.escape(emoji) + '"]') : null;
      var target = same || node.querySelector("button.more");
      if (target) setTimeout(function () { target.focus(); }, 0);
    }
  }
  /** Handles one message that arrived in the channel's list; true when it is new at the bottom. */
  function receive(node) {
    if (received) received.add(node);
    var parentId = node.getAttribute("data-reply-to");
    if (parentId) { node.remove(); replyArrived(parentId, node); return false; }
    var outcome = upsert(list, node);
    if (outcome === "dropped") return false;
    if (outcome === "new") placeInTimeOrder(node);
    refreshTimes(node);
    foldTall(node);
    threadParentArrived(node);
    if (outcome === "replaced") return false;
    var pending = list.querySelector("li.pending");
    if (pending && pending.getAttribute("data-content") === node.querySelector(".content").textContent) pending.remove();
    // Only a message that lands after every other is new: older ones loaded above are not.
    var later = node.nextElementSibling;
    while (later && !(later.classList.contains("message") && !later.classList.contains("pending"))) later = later.nextElementSibling;
    // Nor is a message loaded below a window around an old one (a link to it): it was there before the page.
    return !later && cursorOf(node) > loadedCursor;
  }
  function settle(appendedNew) {
    if (empty) empty.hidden = !!firstMessage();
    if (appendedNew) {
      if (stick) { toBottom(); trimWindow(); }
      else if (marker) marker.hidden = false;
    }
  }
  /** Messages in an answer of ours (an edit, a reaction, a reply): into the list, handled at once. */
  function arrive(text) {
    var template = document.createElement("template");
    template.innerHTML = text;
    var appendedNew = false;
    template.content.querySelectorAll("li.message").forEach(function (node) {
      list.append(node);
      if (receive(node)) appendedNew = true;
    });
    settle(appendedNew);
  }
  var observer = new MutationObserver(function (mutations) {
    var appendedNew = false;
    mutations.forEach(function (mutation) {
      mutation.addedNodes.forEach(function (node) {
        if (node.nodeType !== 1 || !node.classList.contains("message") || node.classList.contains("pending")) return;
        // Moved by us (put in order, or in the place of its older version): handled already.
        if (received && received.has(node)) return;
        if (node.parentNode !== list) return;
        if (receive(node)) appendedNew = true;
      });
    });
    settle(appendedNew);
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

  // Older messages: the page stays put while they load above (see "Grouping and day dividers" below).

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
  /** An Idempotency-Key for a message: sent again with it, the server gives back what it stored, never a copy. */
  function newKey() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes); // crypto.randomUUID needs a secure context; this does not
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }
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

  // --- Copying (a link, a commit hash, a code block's code).
  var announcer = document.getElementById("announce");
  function announce(text) {
    if (!announcer) return;
    announcer.textContent = "";
    setTimeout(function () { announcer.textContent = text; }, 50);
  }
  function copy(button, text, after) {
    var done = function () {
      button.classList.add("copied");
      if (after) { button.textContent = after.copied; }
      setTimeout(function () { button.classList.remove("copied"); if (after) button.textContent = after.idle; }, 1200);
    };
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, function () {});
  }
  function copyText(text, said) {
    if (!navigator.clipboard) return;
    navigator.clipboard.writeText(text).then(function () { announce(said); }, function () { announce("Could not copy: the browser refused."); });
  }

  // --- Changing messages: the page's own form routes, answered with the changed message.
  var thread = document.getElementById("thread");
  var base = thread ? thread.getAttribute("data-base") : "";
  function send(method, url, params, headers) {
    var all = params ? { "content-type": "application/x-www-form-urlencoded" } : {};
    for (var name in headers || {}) all[name] = headers[name];
    return fetch(url, {
      method: method,
      headers: all,
      body: params ? new URLSearchParams(params) : undefined,
      credentials: "same-origin",
    }).then(function (response) {
      return response.text().then(function (text) {
        if (response.ok) return text;
        if (response.status === 401) signedOut();
        throw new Error(errorText({ status: response.status, responseText: text, getResponseHeader: function (name) { return response.headers.get(name); } }));
      });
    // No answer: the change may have been made all the same. Each one the page sends is safe to send again
    // (an edit to the same text, a reaction given, a delete, a reply under its key change nothing twice).
    }, function () { throw new Error("Could not reach the server. Try again: nothing is done twice."); });
  }
  function messageUrl(li, action) { return base + "/messages/" + encodeURIComponent(li.getAttribute("data-id")) + "/" + action; }
  function focusMore(id) {
    var li = document.querySelector('li.message[data-id="' + id + '"]:not(.pending)');
    var more = li && li.querySelector("button.more");
    if (more) more.focus();
  }

  // --- The action menu of a message: one "More actions" button each; its items
  // are built when it opens, reached with the arrow keys, and Escape closes it.
  var menuOpen = null;
  function closeMenu(refocus) {
    if (!menuOpen) return;
    var was = menuOpen;
    menuOpen = null;
    was.menu.remove();
    was.button.setAttribute("aria-expanded", "false");
    was.button.removeAttribute("aria-controls");
    if (refocus) was.button.focus();
  }
  function openMenu(button) {
    closeMenu(false);
    closePopups();
    var li = button.closest("li.message");
    var id = li.getAttribute("data-id");
    var hash = li.getAttribute("data-hash") || "";
    var live = !li.classList.contains("deleted");
    var items = [["link", "Copy link to message"], ["commit", "Copy commit " + hash.slice(0, 7)]];
    if (live) items.push(["reply", "Reply in thread"], ["react", "Add a reaction"]);
    if (live && li.hasAttribute("data-can-change")) items.push(["edit", "Edit"], ["delete", "Delete"]);
    var menu = document.createElement("div");
    menu.className = "actions-menu";
    menu.id = "actions-" + li.id;
    menu.setAttribute("role", "menu");
    menu.setAttribute("aria-label", "Actions on this message");
    items.forEach(function (item) {
      var entry = document.createElement("button");
      entry.type = "button";
      entry.setAttribute("role", "menuitem");
      entry.tabIndex = -1;
      entry.setAttribute("data-action", item[0]);
      entry.textContent = item[1];
      if (item[0] === "delete") entry.className = "danger";
      menu.append(entry);
    });
    li.append(menu);
    button.setAttribute("aria-expanded", "true");
    button.setAttribute("aria-controls", menu.id);
    menuOpen = { menu: menu, button: button, li: li, id: id };
    menu.firstElementChild.focus();
  }
  function act(action, li) {
    var id = li.getAttribute("data-id");
    var opener = menuOpen ? menuOpen.button : null;
    closeMenu(action === "link" || action === "commit");
    if (action === "link") copyText(location.origin + base + "#m-" + id, "Link to the message copied");
    else if (action === "commit") copyText(li.getAttribute("data-hash"), "Commit hash copied");
    else if (action === "reply") openThread(li.getAttribute("data-reply-to") || id, true, opener);
    else if (action === "react") openPicker(li);
    else if (action === "edit") startEdit(li);
    else if (action === "delete") confirmDelete(li);
  }
  document.addEventListener("keydown", function (event) {
    if (!menuOpen || !menuOpen.menu.contains(event.target)) return;
    var entries = Array.prototype.slice.call(menuOpen.menu.querySelectorAll("[role=menuitem]"));
    var at = entries.indexOf(event.target);
    var next = null;
    if (event.key === "ArrowDown") next = entries[(at + 1) % entries.length];
    else if (event.key === "ArrowUp") next = entries[(at - 1 + entries.length) % entries.length];
    else if (event.key === "Home") next = entries[0];
    else if (event.key === "End") next = entries[entries.length - 1];
    else if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); closeMenu(true); return; }
    else if (event.key === "Tab") { closeMenu(false); return; }
    if (next) { event.preventDefault(); next.focus(); }
  }, true);
  document.addEventListener("click", function (event) {
    if (menuOpen && !menuOpen.menu.contains(event.target) && event.target !== menuOpen.button) closeMenu(false);
    if (picker && !picker.box.contains(event.target) && !(event.target.closest && event.target.closest("[role=menuitem]"))) closePicker(false);
  });

  // --- Editing in place: the server's editor takes the text's place; Enter saves, Escape cancels.
  function endEdit(li, refocus) {
    var editor = li.querySelector("form.editor");
    if (editor) editor.remove();
    li.classList.remove("editing");
    if (refocus) focusMore(li.getAttribute("data-id"));
  }
  function startEdit(li) {
    var open = li.querySelector("form.editor textarea");
    if (open) { open.focus(); return; }
    send("GET", messageUrl(li, "edit")).then(function (text) {
      var template = document.createElement("template");
      template.innerHTML = text;
      var editor = template.content.querySelector("form.editor");
      if (!editor) return;
      li.classList.add("editing");
      li.querySelector(".content").after(editor);
      var box = editor.querySelector("textarea");
      box.focus();
      box.setSelectionRange(box.value.length, box.value.length);
    }, function (error) { announce(error.message); });
  }
  function saveEdit(editor) {
    var li = editor.closest("li.message");
    var box = editor.querySelector("textarea");
    var errorLine = editor.querySelector(".error");
    showError(errorLine, "");
    var id = li.getAttribute("data-id");
    send("POST", editor.getAttribute("data-action"), { content: box.value }).then(function (text) {
      // The change may have come back by the live stream first, the editor carried into the new element.
      endEdit(editor.closest("li.message") || li, false);
      arrive(text);
      focusMore(id);
    }, function (error) { showError(errorLine, error.message); box.focus(); });
  }

  // --- Deleting, after a confirmation in the message itself.
  function confirmDelete(li) {
    if (li.querySelector(".confirm")) return;
    var box = document.createElement("div");
    box.className = "confirm";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Delete this message?");
    var question = document.createElement("span");
    question.textContent = "Delete this message? It will show as “message deleted”.";
    var yes = document.createElement("button");
    yes.type = "button";
    yes.className = "danger confirm-delete";
    yes.textContent = "Delete";
    var no = document.createElement("button");
    no.type = "button";
    no.className = "cancel";
    no.textContent = "Cancel";
    var errorLine = document.createElement("p");
    errorLine.className = "error";
    errorLine.setAttribute("role", "alert");
    box.append(question, yes, no, errorLine);
    li.append(box);
    no.focus();
  }
  function deleteNow(box) {
    var li = box.closest("li.message");
    send("POST", messageUrl(li, "delete"), {}).then(function (text) {
      var id = li.getAttribute("data-id");
      box.remove();
      arrive(text);
      focusMore(id);
    }, function (error) { showError(box.querySelector(".error"), error.message); });
  }

  // --- Reactions: a chip toggles the reader's own; the picker offers a few and takes any emoji or :shortcode:.
  var COMMON = ["👍", "❤️", "😄", "🎉", "👀", "🚀", "🙏", "✅"];
  var picker = null;
  function react(li, emoji, on) {
    return send("POST", messageUrl(li, "reactions"), { emoji: emoji, on: on ? "true" : "false" }).then(arrive);
  }
  function closePicker(refocus) {
    if (!picker) return;
    var was = picker;
    picker = null;
    was.box.remove();
    if (refocus) focusMore(was.id);
  }
  function closePopups() {
    closePicker(false);
  }
  function openPicker(li) {
    closePicker(false);
    var id = li.getAttribute("data-id");
    var box = document.createElement("div");
    box.className = "picker";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Add a reaction");
    COMMON.forEach(function (emoji) {
      var choice = document.createElement("button");
      choice.type = "button";
      choice.className = "pick";
      choice.setAttribute("data-pick", emoji);
      choice.setAttribute("aria-label", "React with " + emoji);
      choice.textContent = emoji;
      box.append(choice);
    });
    var own = document.createElement("form");
    own.className = "pick-own";
    var label = document.createElement("label");
    label.htmlFor = "pick-" + id;
    label.className = "visually-hidden";
    label.textContent = "Any emoji, or a :shortcode:";
    var input = document.createElement("input");
    input.id = "pick-" + id;
    input.name = "emoji";
    input.placeholder = ":shortcode: or emoji";
    input.autocomplete = "off";
    input.required = true;
    var add = document.createElement("button");
    add.type = "submit";
    add.textContent = "Add";
    var errorLine = document.createElement("p");
    errorLine.className = "error";
    errorLine.setAttribute("role", "alert");
    own.append(label, input, add);
    box.append(own, errorLine);
    li.append(box);
    picker = { box: box, id: id, li: li };
    box.querySelector("button.pick").focus();
  }
  function pick(emoji) {
    if (!picker) return;
    var current = picker;
    var errorLine = current.box.querySelector(".error");
    showError(errorLine, "");
    react(current.li, emoji, true).then(function () { closePicker(false); focusMore(current.id); }, function (error) { showError(errorLine, error.message); });
  }

  // --- The thread panel: a message with its replies, and a composer that replies.
  var threadBody = document.getElementById("thread-body");
  var threadForm = document.getElementById("thread-composer");
  var threadBox = document.getElementById("thread-content");
  var threadError = document.getElementById("thread-error");
  var threadOpener = null;
  var replyKey = null; // { said, key } of the reply last sent, until it is answered
  function openThreadId() { return thread && !thread.hidden ? thread.getAttribute("data-parent") : null; }
  function openThread(id, focusComposer, opener) {
    if (!thread) return;
    threadOpener = opener || document.activeElement;
    send("GET", base + "/threads/" + encodeURIComponent(id)).then(function (text) {
      threadBody.innerHTML = text;
      refreshTimes(threadBody);
      thread.setAttribute("data-parent", id);
      threadForm.querySelector("input[name=reply_to]").value = id;
      showError(threadError, "");
      thread.hidden = false;
      document.body.classList.add("thread-open");
      if (focusComposer) threadBox.focus();
      else document.getElementById("thread-close").focus();
    }, function (error) { announce(error.message); });
  }
  function closeThread() {
    if (!thread || thread.hidden) return;
    thread.hidden = true;
    document.body.classList.remove("thread-open");
    thread.removeAttribute("data-parent");
    threadBody.textContent = "";
    var back = threadOpener && document.contains(threadOpener) ? threadOpener : textarea;
    if (back) back.focus();
  }
  /** A reply arrived: into the open thread's panel (in place of its older version), and counted under its parent. */
  function replyArrived(parentId, node) {
    var count = node.getAttribute("data-thread-count");
    if (count !== null) showReplyCount(parentId, Number(count));
    var replies = document.getElementById("thread-replies");
    if (replies && openThreadId() === parentId) {
      replies.append(node);
      var outcome = upsert(replies, node);
      if (outcome !== "dropped") refreshTimes(node);
    }
  }
  /** "N replies" under a message of the channel (none for none): opens its thread. */
  function showReplyCount(parentId, count) {
    var parent = list.querySelector('li.message[data-id="' + parentId + '"]');
    if (!parent) return;
    var button = parent.querySelector("button.replies");
    if (count <= 0) { if (button) button.remove(); return; }
    if (!button) {
      button = document.createElement("button");
      button.type = "button";
      button.className = "replies";
      button.setAttribute("data-thread", parentId);
      parent.append(button);
    }
    button.textContent = count + (count === 1 ? " reply" : " replies");
  }
  /** The open thread's parent changed: the panel shows it again. */
  function threadParentArrived(node) {
    if (openThreadId() !== node.getAttribute("data-id")) return;
    var shown = threadBody.querySelector(".thread-parent li.message");
    if (!shown || cursorOf(shown) >= cursorOf(node)) return;
    var copy = node.cloneNode(true);
    copy.id = "t-" + node.getAttribute("data-id");
    shown.replaceWith(copy);
  }
  if (thread) {
    document.getElementById("thread-close").addEventListener("click", closeThread);
    threadBox.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey && !event.isComposing) {
        event.preventDefault();
        if (threadBox.value.trim() !== "") threadForm.requestSubmit();
      }
    });
    threadForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = threadBox.value;
      if (text.trim() === "") return;
      showError(threadError, "");
      var parentId = threadForm.querySelector("input[name=reply_to]").value;
      // A reply that failed (an error, or no answer: it may have been stored) keeps its key:
      // sent again unchanged to the same thread, the server gives back the one it stored.
      var said = parentId + "\u0000" + text;
      if (!replyKey || replyKey.said !== said) replyKey = { said: said, key: newKey() };
      send("POST", base + "/messages", { content: text, reply_to: parentId }, { "Idempotency-Key": replyKey.key }).then(function (answer) {
        replyKey = null;
        if (threadBox.value === text) threadBox.value = "";
        arrive(answer);
        threadBox.focus();
      }, function (error) { showError(threadError, error.message); });
    });
  }

  // --- Clicks on messages (the channel's, and the thread's), delegated.
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target : null;
    if (!target || !target.closest("li.message")) return;
    var li = target.closest("li.message");
    var more = target.closest("button.more");
    if (more) {
      if (menuOpen && menuOpen.button === more) closeMenu(true);
      else openMenu(more);
      return;
    }
    var entry = target.closest("[role=menuitem]");
    if (entry) { act(entry.getAttribute("data-action"), li); return; }
    var chip = target.closest("button.reaction");
    if (chip) {
      react(li, chip.getAttribute("data-emoji"), chip.getAttribute("aria-pressed") !== "true").catch(function (error) { announce(error.message); });
      return;
    }
    var choice = target.closest("button.pick");
    if (choice) { pick(choice.getAttribute("data-pick")); return; }
    var replies = target.closest("button.replies");
    if (replies) { openThread(replies.getAttribute("data-thread"), false); return; }
    if (target.closest("button.confirm-delete")) { deleteNow(target.closest(".confirm")); return; }
    if (target.closest(".confirm button.cancel")) { target.closest(".confirm").remove(); focusMore(li.getAttribute("data-id")); return; }
    if (target.closest("form.editor button.cancel")) { endEdit(li, true); return; }
    var code = target.closest("button.copy-code");
    if (code) { copy(code, code.parentElement.querySelector("code").textContent, { idle: "Copy", copied: "Copied" }); return; }
    var fold = target.closest("button.show-more");
    if (fold) {
      var content = fold.previousElementSibling;
      var folded = content.classList.toggle("folded");
      fold.textContent = folded ? "Show more" : "Show less";
      fold.setAttribute("aria-expanded", String(!folded));
    }
  });
  document.addEventListener("submit", function (event) {
    var target = event.target;
    if (target.matches && target.matches("form.editor")) { event.preventDefault(); saveEdit(target); }
    else if (target.matches && target.matches("form.pick-own")) { event.preventDefault(); pick(target.querySelector("input").value.trim()); }
  });
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!target || !target.closest) return;
    var editor = target.closest("form.editor");
    if (editor && target.tagName === "TEXTAREA") {
      if (event.key === "Escape") { event.preventDefault(); endEdit(editor.closest("li.message"), true); }
      else if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey && !event.isComposing) {
        event.preventDefault();
        editor.requestSubmit();
      }
      return;
    }
    if (event.key !== "Escape") return;
    if (picker && picker.box.contains(target)) { event.preventDefault(); closePicker(true); return; }
    var confirmBox = target.closest(".confirm");
    if (confirmBox) { event.preventDefault(); var li = confirmBox.closest("li.message"); confirmBox.remove(); focusMore(li.getAttribute("data-id")); return; }
    if (thread && !thread.hidden && thread.contains(target)) { event.preventDefault(); closeThread(); }
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

  // --- A link to a message (#m-<id>): scrolled to and marked; when the page does not hold it,
  // the messages around it replace the list (newer ones load as the reader scrolls down).
  var jumpStatus = document.getElementById("jump-status");
  function messagesUrl() {
    var poller = document.getElementById("poller");
    return poller ? poller.getAttribute("hx-get").split("?")[0] : null;
  }
  function showTarget(li) {
    list.querySelectorAll("li.message.highlighted").forEach(function (el) { el.classList.remove("highlighted"); });
    li.classList.add("highlighted");
    li.setAttribute("tabindex", "-1");
    li.scrollIntoView({ block: "center" });
    li.focus({ preventScroll: true });
    stick = atBottom();
  }
  function jumpTo(id) {
    if (jumpStatus) jumpStatus.hidden = true;
    var here = document.getElementById("m-" + id);
    if (here && list.contains(here)) { showTarget(here); return; }
    var url = messagesUrl();
    if (!url || !window.htmx) return;
    window.htmx.ajax("GET", url + "?around=" + encodeURIComponent(id), { target: "#messages", swap: "innerHTML" }).then(function () {
      var found = document.getElementById("m-" + id);
      if (found && list.contains(found)) showTarget(found);
      else if (jumpStatus) { jumpStatus.textContent = "That message is not in this channel."; jumpStatus.hidden = false; }
    });
  }
  function linkedId() {
    var match = /^#m-([0-9a-f-]{36})$/.exec(location.hash);
    return match ? match[1] : null;
  }
  window.addEventListener("hashchange", function () { var id = linkedId(); if (id) jumpTo(id); });
  // htmx sets itself up on DOMContentLoaded (this deferred script runs just before): go once it has.
  if (linkedId()) {
    if (document.readyState === "complete") jumpTo(linkedId());
    else document.addEventListener("DOMContentLoaded", function () { var id = linkedId(); if (id) jumpTo(id); });
  }

  // --- Search: the box in the top bar ("/" goes there when not typing elsewhere), results in a panel over the messages.
  var searchForm = document.getElementById("search");
  var searchBox = document.getElementById("search-box");
  var searchPanel = document.getElementById("search-panel");
  function openResults() {
    var bar = document.querySelector(".topbar");
    if (bar) searchPanel.style.top = bar.offsetHeight + "px";
    searchPanel.hidden = false;
  }
  function closeResults(refocus) {
    searchPanel.hidden = true;
    if (refocus) searchBox.focus();
  }
  if (searchForm && searchBox && searchPanel) {
    searchForm.addEventListener("submit", function (event) { if (searchBox.value.trim() === "") event.preventDefault(); });
    searchForm.addEventListener("htmx:afterRequest", function () { openResults(); });
    // A result's time as the reader's own date and clock (the server writes UTC).
    var resultFormat = typeof Intl !== "undefined" ? new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }) : null;
    searchPanel.addEventListener("htmx:afterSettle", function () {
      if (!resultFormat) return;
      searchPanel.querySelectorAll("time[datetime]").forEach(function (el) {
        var date = new Date(el.getAttribute("datetime"));
        if (!isNaN(date.getTime())) { el.textContent = resultFormat.format(date); el.title = fullFormat ? fullFormat.format(date) : ""; }
      });
    });
    document.getElementById("search-close").addEventListener("click", function () { closeResults(true); });
    // A result in this channel changes only the address's #m-<id>: the hashchange above moves the list to it.
    searchPanel.addEventListener("click", function (event) {
      if (event.target.closest && event.target.closest("a.result-link")) closeResults(false);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !searchPanel.hidden) {
        closeResults(searchPanel.contains(document.activeElement) || document.activeElement === searchBox);
        return;
      }
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
      var el = document.activeElement;
      var typing = el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
      if (typing) return;
      event.preventDefault();
      searchBox.focus();
      searchBox.select();
    });
  }

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

// --- Grouping and day dividers (issue 12). A message from the same author as
// the one before it, within GROUP_MS on the same day, shows only its text (its
// clock time on hover); each day opens with a divider ("Today", "Yesterday",
// "Monday 22 November") in the reader's locale and time zone, and a "New"
// divider goes before the first message that came after the reader's place
// when the page was made. All of it is laid out again, over the whole list,
// after every change to the list (a few hundred messages at most: see WINDOW),
// so an older batch, a late arrival or a live one groups with its neighbours.
// Older messages loaded above change heights above the reader (a header that
// becomes grouped, a new divider): the first message in view is measured
// before the swap and kept at the same offset until the swap has settled.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var list = document.getElementById("messages");
  if (!log || !list) return;
  var GROUP_MS = 5 * 60 * 1000;
  var lastRead = list.getAttribute("data-last-read") || "";
  var me = list.getAttribute("data-me") || "";
  var dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long" });
  var dayFormatYear = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric" });
  var relative = Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }) : null;

  function dayKey(date) { return date.getFullYear() + "-" + (date.getMonth() + 1) + "-" + date.getDate(); }
  function dayLabel(key) {
    var parts = key.split("-").map(Number);
    var day = new Date(parts[0], parts[1] - 1, parts[2]);
    var now = new Date();
    var today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
    var back = Math.round((today.getTime() - day.getTime()) / 86400000);
    if (relative && (back === 0 || back === 1)) {
      var word = relative.format(-back, "day");
      return word.charAt(0).toLocaleUpperCase() + word.slice(1);
    }
    return (day.getFullYear() === now.getFullYear() ? dayFormat : dayFormatYear).format(day);
  }
  function divider(key) {
    var li = document.createElement("li");
    var kind = key.split(":")[0];
    li.className = "divider " + kind + "-divider";
    li.setAttribute("data-key", key);
    var label = document.createElement("span");
    label.textContent = kind === "day" ? dayLabel(key.slice(4)) : "New";
    li.append(label);
    return li;
  }
  function relabel() {
    list.querySelectorAll("li.day-divider").forEach(function (li) {
      var label = li.querySelector("span");
      var text = dayLabel(li.getAttribute("data-key").slice(4));
      if (label && label.textContent !== text) label.textContent = text;
    });
  }

  function relayout() {
    var keep = new Set();
    var previous = null;
    var previousAt = 0;
    var previousDay = "";
    var newPlaced = false;
    list.querySelectorAll("li.message:not(.pending)").forEach(function (li) {
      var time = li.querySelector("time[datetime]");
      var date = time ? new Date(time.getAttribute("datetime")) : null;
      var valid = date && !isNaN(date.getTime());
      var at = valid ? date.getTime() : previousAt;
      var day = valid ? dayKey(date) : previousDay;
      var wanted = [];
      if (day !== previousDay) wanted.push("day:" + day);
      if (!newPlaced && lastRead !== "" && li.getAttribute("data-id") > lastRead && li.getAttribute("data-author") !== me) {
        wanted.push("new:");
        newPlaced = true;
      }
      var present = [];
      for (var el = li.previousElementSibling; el && el.classList.contains("divider"); el = el.previousElementSibling) present.unshift(el);
      if (present.map(function (d) { return d.getAttribute("data-key"); }).join() === wanted.join()) {
        present.forEach(function (d) { keep.add(d); });
      } else {
        present.forEach(function (d) { d.remove(); });
        wanted.forEach(function (key) { var d = divider(key); li.before(d); keep.add(d); });
      }
      var grouped = previous !== null && wanted.length === 0 &&
        li.getAttribute("data-author") === previous.getAttribute("data-author") &&
        !li.hasAttribute("data-unverified") && !previous.hasAttribute("data-unverified") &&
        at >= previousAt && at - previousAt < GROUP_MS;
      if (li.classList.contains("grouped") !== grouped) li.classList.toggle("grouped", grouped);
      previous = li;
      previousAt = at;
      previousDay = day;
    });
    list.querySelectorAll("li.divider").forEach(function (d) { if (!keep.has(d)) d.remove(); });
  }

  // The first message in view, and how far below the top of the log it is.
  var anchor = null;
  function firstInView() {
    var top = log.getBoundingClientRect().top;
    var items = list.querySelectorAll("li.message:not(.pending)");
    for (var i = 0; i < items.length; i++) {
      var box = items[i].getBoundingClientRect();
      if (box.bottom > top) return { el: items[i], offset: box.top - top };
    }
    return null;
  }
  function holdAnchor() {
    if (!anchor || !anchor.el.isConnected) return;
    var moved = anchor.el.getBoundingClientRect().top - log.getBoundingClientRect().top - anchor.offset;
    if (moved !== 0) log.scrollTop += moved;
  }
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    // Only for a swap that will happen: an anchor left standing would pull the reader back later.
    if (event.detail.target && event.detail.target.id === "older" && event.detail.shouldSwap) anchor = firstInView();
  });
  document.body.addEventListener("htmx:afterSwap", holdAnchor);
  document.body.addEventListener("htmx:afterSettle", function () {
    if (!anchor) return;
    holdAnchor();
    requestAnimationFrame(function () { holdAnchor(); anchor = null; });
  });

  // Runs after the page's own observer (made first) has put each new message in time order and dropped repeats.
  new MutationObserver(function (mutations) {
    var changed = mutations.some(function (m) {
      return Array.prototype.some.call(m.addedNodes, isMessage) || Array.prototype.some.call(m.removedNodes, isMessage);
    });
    if (!changed) return;
    var atEnd = atBottom();
    relayout();
    // A divider added under a reader at the bottom (a new day) would leave them just above it.
    if (atEnd && !anchor) log.scrollTop = log.scrollHeight;
    holdAnchor();
  }).observe(list, { childList: true });
  function isMessage(node) { return node.nodeType === 1 && node.classList.contains("message"); }
  function atBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 48; }

  // On opening: the New divider in view when what came after it is taller than the view; else the bottom, as before.
  relayout();
  var fresh = list.querySelector("li.new-divider");
  var freshTop = fresh ? fresh.getBoundingClientRect().top - log.getBoundingClientRect().top + log.scrollTop : 0;
  if (fresh && log.scrollHeight - freshTop > log.clientHeight) log.scrollTop = freshTop - 8;
  else log.scrollTop = log.scrollHeight;
  setInterval(relabel, 30000);
})();

// --- Unread (issue 12): the reader's place in each channel is kept on the
// server (PUT /repositories/{owner}/{name}/read), so it follows them to
// every browser. This channel is read up to its newest message whenever the
// reader can see it: the tab visible and the list scrolled to the bottom.
// The tab's title counts what the reader has not seen: every other channel's
// unread count (from the sidebar, refreshed from the server) plus the
// messages here that came after their place (arrivals while the tab was
// hidden or they were scrolled up), their own not counted.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var list = document.getElementById("messages");
  if (!log || !list) return;
  var me = list.getAttribute("data-me") || "";
  var readUpTo = list.getAttribute("data-last-read") || "";
  var path = location.pathname.split("/");
  var readUrl = "/repositories/" + path[2] + "/" + path[3] + "/read";
  var baseTitle = document.title;

  function messages() { return list.querySelectorAll("li.message:not(.pending)"); }
  function newest() { var all = messages(); return all.length ? all[all.length - 1].getAttribute("data-id") : ""; }
  function seeing() { return document.visibilityState === "visible" && log.scrollHeight - log.scrollTop - log.clientHeight < 48; }
  function unseenHere() {
    var n = 0;
    messages().forEach(function (li) { if (li.getAttribute("data-id") > readUpTo && li.getAttribute("data-author") !== me) n++; });
    return n;
  }
  function updateTitle() {
    var total = unseenHere();
    document.querySelectorAll("#channel-list li[data-unread]").forEach(function (li) {
      if (!li.querySelector("a[aria-current=page]")) total += Number(li.getAttribute("data-unread")) || 0;
    });
    var title = total > 0 ? "(" + total + ") " + baseTitle : baseTitle;
    if (document.title !== title) document.title = title;
  }
  function markRead() {
    var id = newest();
    if (id && id > readUpTo && seeing()) {
      readUpTo = id;
      fetch(readUrl, { method: "PUT", credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify({ message_id: id }) })
        .then(function (response) { if (response.ok) document.body.dispatchEvent(new CustomEvent("refresh-channels")); }, function () {});
    }
    updateTitle();
  }
  // At most one look a second: a busy channel does not become a request per message.
  var timer = null;
  function soon() { if (timer === null) timer = setTimeout(function () { timer = null; markRead(); }, 1000); }
  new MutationObserver(soon).observe(list, { childList: true });
  log.addEventListener("scroll", soon);
  document.addEventListener("visibilitychange", soon);
  window.addEventListener("focus", soon);
  document.body.addEventListener("htmx:afterSwap", function (event) { if (event.detail.target && event.detail.target.id === "channel-list") updateTitle(); });
  soon();
})();

// --- Notifications for mentions (issue 12), opt-in: the button asks the
// browser's permission when pressed (the page never asks on load); the choice
// is remembered in this browser. While the tab is hidden, a message in this
// channel that mentions the reader (@login) shows a notification with its
// text; a new mention in another channel (the sidebar's count of them grew)
// shows one naming the channel.
(function () {
  "use strict";
  var list = document.getElementById("messages");
  var button = document.getElementById("notify");
  if (!list || !button || typeof Notification === "undefined") return;
  var KEY = "gitchat-notify";
  var me = list.getAttribute("data-me") || "";
  function chosen() { try { return localStorage.getItem(KEY) === "on"; } catch (e) { return false; } }
  function choose(on) { try { if (on) localStorage.setItem(KEY, "on"); else localStorage.removeItem(KEY); } catch (e) {} }
  function on() { return chosen() && Notification.permission === "granted"; }
  function show() {
    button.hidden = false;
    button.setAttribute("aria-pressed", String(on()));
    if (Notification.permission === "denied") {
      button.disabled = true;
      button.title = "Notifications are blocked for this site in the browser's settings";
    }
  }
  button.addEventListener("click", function () {
    if (on()) { choose(false); show(); return; }
    if (Notification.permission === "granted") { choose(true); show(); return; }
    Notification.requestPermission().then(function (permission) { choose(permission === "granted"); show(); }, show);
  });
  show();

  // Mentions in other channels: the sidebar, refreshed from the server, counts them per channel.
  function mentionCounts() {
    var counts = {};
    document.querySelectorAll("#channel-list li[data-mentions]").forEach(function (li) {
      if (!li.querySelector("a[aria-current=page]")) counts[li.getAttribute("data-channel")] = Number(li.getAttribute("data-mentions")) || 0;
    });
    return counts;
  }
  var mentioned = mentionCounts();
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "channel-list") return;
    var now = mentionCounts();
    Object.keys(now).forEach(function (channel) {
      if (!(now[channel] > (mentioned[channel] || 0)) || !on() || document.visibilityState !== "hidden") return;
      var note = new Notification("You were mentioned in " + channel, { body: "Open gitchat to read it", tag: "mention:" + channel });
      note.onclick = function () { window.focus(); note.close(); };
    });
    mentioned = now;
  });

  var seen = "";
  list.querySelectorAll("li.message:not(.pending)").forEach(function (li) { if (li.getAttribute("data-id") > seen) seen = li.getAttribute("data-id"); });
  new MutationObserver(function (mutations) {
    mutations.forEach(function (mutation) {
      mutation.addedNodes.forEach(function (li) {
        if (li.nodeType !== 1 || !li.classList.contains("message") || li.classList.contains("pending") || !li.isConnected) return;
        var id = li.getAttribute("data-id");
        if (!(id > seen)) return; // an older message loaded above, or one already seen
        seen = id;
        // The server marks a message that mentions the reader ("mentioned"), as its Markdown finds mentions.
        if (!li.classList.contains("mentioned") || !on() || document.visibilityState !== "hidden" || li.getAttribute("data-author") === me) return;
        var content = li.querySelector(".content");
        var text = content ? content.textContent : "";
        var author = li.querySelector(".author");
        var title = document.getElementById("channel-title");
        var note = new Notification((author ? author.textContent : "Someone") + " mentioned you in " + (title ? title.textContent : "gitchat"), { body: text.slice(0, 200), tag: id });
        note.onclick = function () { window.focus(); note.close(); };
      });
    });
  }).observe(list, { childList: true });
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
