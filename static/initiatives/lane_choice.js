// The lane of the filing form follows the lane assessment until the PM chooses one.
//
// When the questionnaire yields a recommendation and no lane is chosen yet, the recommended
// lane is selected for the PM (the group is marked data-lane-preselected). While it is only
// pre-selected it follows the recommendation as the answers change, and the live preview
// (htmx, #lane-section) is asked without it, so the server never takes it for the PM's own
// choice and never warns about a choice nobody made. A lane the PM clicks is theirs and stays.
// The server renders the same state on a re-displayed form (InitiativeForm.lane_preselect).
//
// A script file, not inline: the Content Security Policy allows scripts from this site only.
(function () {
  "use strict";

  const GROUP = "[data-lane-choice]";

  function laneGroup() {
    return document.querySelector(GROUP);
  }

  function isPreselected(group) {
    return group.dataset.lanePreselected === "true";
  }

  function followRecommendation(root) {
    const group = laneGroup();
    const recommendation = root && root.querySelector ? root.querySelector("[data-recommended-lane]") : null;
    const recommended = recommendation ? recommendation.dataset.recommendedLane : "";
    if (!group || !recommended) {
      return;
    }
    if (group.querySelector("input[name=lane]:checked") && !isPreselected(group)) {
      return; // the PM's own choice
    }
    const radio = Array.from(group.querySelectorAll("input[name=lane]")).find((input) => input.value === recommended);
    if (radio) {
      radio.checked = true; // no change event: this is not the PM's choice
      group.dataset.lanePreselected = "true";
    }
  }

  document.addEventListener("DOMContentLoaded", () => followRecommendation(document));
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.target.id === "lane-recommendation") {
      followRecommendation(event.target);
    }
  });

  // Capture phase: the choice must be recorded before htmx (listening on #lane-section) asks
  // for the preview this same change triggers.
  document.addEventListener(
    "change",
    (event) => {
      const input = event.target;
      const group = input.closest ? input.closest(GROUP) : null;
      if (group && input.name === "lane") {
        group.dataset.lanePreselected = "false";
      }
    },
    true,
  );

  document.addEventListener("htmx:configRequest", (event) => {
    const group = laneGroup();
    if (group && isPreselected(group) && event.detail.elt.id === "lane-section") {
      delete event.detail.parameters.lane;
    }
  });
})();
