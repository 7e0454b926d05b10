/* Optional drawn signature on the consent signing page (templates/consents/portal_sign.html).
   Without JavaScript the drawing area stays hidden and the typed name alone is the signature.
   Pointer events cover mouse, pen and touch; the drawing is written into the hidden form field
   as a PNG data URL after each stroke, and cleared with the "Clear drawing" button. */
(function () {
  "use strict";

  function setUp(pad) {
    var canvas = pad.querySelector("canvas");
    var field = pad.querySelector("input[type=hidden]");
    var clear = pad.querySelector("[data-signature-clear]");
    if (!canvas || !field || !canvas.getContext) {
      return;
    }
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var hasInk = false;

    function reset() {
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.lineWidth = 3;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "#14212b";
      hasInk = false;
      field.value = "";
    }

    // The canvas is scaled by CSS; map the pointer from screen pixels to canvas pixels.
    function point(event) {
      var box = canvas.getBoundingClientRect();
      return {
        x: (event.clientX - box.left) * (canvas.width / box.width),
        y: (event.clientY - box.top) * (canvas.height / box.height)
      };
    }

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      drawing = true;
      canvas.setPointerCapture(event.pointerId);
      var p = point(event);
      ctx.beginPath();
      ctx.moveTo(p.x, p.y);
      ctx.lineTo(p.x + 0.1, p.y + 0.1);
      ctx.stroke();
      hasInk = true;
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) {
        return;
      }
      event.preventDefault();
      var p = point(event);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
    });
    function finish() {
      if (!drawing) {
        return;
      }
      drawing = false;
      if (hasInk) {
        field.value = canvas.toDataURL("image/png");
      }
    }
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);
    canvas.addEventListener("pointerleave", finish);
    if (clear) {
      clear.addEventListener("click", reset);
    }
    reset();
    pad.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var pads = document.querySelectorAll("[data-signature-pad]");
    for (var i = 0; i < pads.length; i += 1) {
      setUp(pads[i]);
    }
  });
}());
