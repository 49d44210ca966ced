// Progressive enhancement only: every page works without JavaScript.
import { initAll } from "./vendor/govuk-frontend.min.js";

initAll();
