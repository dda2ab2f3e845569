"""Admin forms that save through a service, so the admin follows the same rules as the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Model

from common.errors import DomainError


class ServiceForm(forms.ModelForm):
    """A ModelForm that saves by calling a service once it is otherwise valid.

    The call happens at the end of validation, so a refusal (a stale page, a transition the
    table forbids, stock that would go below zero) is a form error shown on the page, and the
    admin neither says "changed successfully" nor logs a change that did not happen. The admin
    never saves the row itself: a full-row save would write back values read when the page was
    opened (stock!). `by` is set on the form class by the ModelAdmin (see `ServiceAdminMixin`).
    """

    by: Any = None

    def apply(self) -> Model:
        """Call the service with `self.cleaned_data`; return the saved object."""
        raise NotImplementedError

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and not self.errors:
            try:
                self.instance = self.apply()
            except DomainError as exc:
                self.add_error(None, str(exc.detail))

    def save(self, commit: bool = True) -> Any:
        self.save_m2m = self._saved_by_service  # type: ignore[method-assign]
        return self.instance

    def _saved_by_service(self) -> None:
        """Nothing left to save: the service saved the object and its relations."""


class ServiceAdminMixin:
    """For a ModelAdmin whose form is a ServiceForm: hand it the user, and save nothing more."""

    def get_form(self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        form.by = request.user
        return form

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        """The form's service call has saved it."""
