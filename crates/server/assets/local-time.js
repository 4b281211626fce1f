// Times on the status page and in the console are written in UTC, which
// every reader can trust without a script. Where scripts run, each
// <time data-local> shows the reader's own time zone in the page's language
// instead, with the UTC original on hover.
"use strict";
(function () {
  var format;
  try {
    format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
      dateStyle: "medium",
      timeStyle: "short",
    });
  } catch (error) {
    return;
  }
  document.querySelectorAll("time[datetime][data-local]").forEach(function (element) {
    var at = new Date(element.getAttribute("datetime"));
    if (isNaN(at.getTime())) {
      return;
    }
    element.title = element.textContent;
    element.textContent = format.format(at);
  });
})();
