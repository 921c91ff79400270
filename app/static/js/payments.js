// Card entry with Stripe's own card element: the card number goes from the browser straight to
// Stripe, never through Mutual. The page works as a plain link page without JavaScript. The
// form pays (a PaymentIntent) or, with data-mode="setup", saves the card (a SetupIntent).
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(form.dataset.publishableKey);
  var elements = stripe.elements();
  var card = elements.create("card", { hidePostalCode: false });
  var mount = document.getElementById("card-element");
  var errors = document.getElementById("card-errors");
  var button = document.getElementById("card-submit");
  mount.textContent = "";
  card.mount(mount);
  button.disabled = false;
  card.on("change", function (event) {
    errors.textContent = event && event.error ? event.error.message : "";
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    var saving = form.dataset.mode === "setup";
    button.textContent = saving ? "Saving…" : "Paying…";
    errors.textContent = "";
    var confirm = saving ? stripe.confirmCardSetup : stripe.confirmCardPayment;
    confirm.call(stripe, form.dataset.clientSecret, { payment_method: { card: card } })
      .then(function (result) {
        if (result.error) {
          errors.textContent = result.error.message ||
            (saving ? "The card was not saved." : "The payment did not go through.");
          button.disabled = false;
          button.textContent = form.dataset.label;
          return;
        }
        var back = form.dataset.returnUrl;
        if (saving && result.setupIntent) {
          back += (back.indexOf("?") < 0 ? "?" : "&") + "setup_intent=" +
            encodeURIComponent(result.setupIntent.id);
        }
        window.location.assign(back);
      });
  });
})();
