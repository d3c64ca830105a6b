"""One router per resource; each route only translates HTTP to the service layer and back."""
