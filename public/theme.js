// Runs before the page paints, so a remembered theme never flashes the other one.
(function () {
  try {
    var theme = localStorage.getItem("gitchat-theme");
    if (theme === "light" || theme === "dark") document.documentElement.setAttribute("data-theme", theme);
  } catch (e) {}
})();
