// Card entry with Stripe's own card element: the card number goes from the browser straight to
// Stripe, never through Mutual. The page works as a plain link page without JavaScript.
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
    button.textContent = "Paying…";
    errors.textContent = "";
    stripe.confirmCardPayment(form.dataset.clientSecret, { payment_method: { card: card } })
      .then(function (result) {
        if (result.error) {
          errors.textContent = result.error.message || "The payment did not go through.";
          button.disabled = false;
          button.textContent = form.dataset.label;
          return;
        }
        window.location.assign(form.dataset.returnUrl);
      });
  });
})();
