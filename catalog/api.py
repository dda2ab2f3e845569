"""Catalog router: public reads, staff-only writes."""

# No `from __future__ import annotations`: ninja reads these signatures at import time.

from django.http import HttpResponse
from ninja import Header, Query, Router, Status
from ninja.pagination import paginate

from accounts.auth import AuthedRequest, jwt_auth, optional_jwt_auth, require_staff
from common.conditional import if_match_versions, version_etag
from common.pagination import Pagination
from common.schemas import ETAG_HEADER, OPTIONAL_AUTH, errors, response_headers

from . import selectors, services, stock
from .models import Product
from .schemas import (
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    ProductFilters,
    ProductIn,
    ProductOut,
    ProductPatch,
    ProductReplace,
    StockChangeIn,
    StockMovementOut,
)

# Mounted by config/api.py at /categories/ and /products/ (the edge cache serves those paths).
categories = Router(tags=["catalog"])
products = Router(tags=["catalog"])


@categories.get(
    "/",
    response={200: list[CategoryOut], **errors(422)},
    auth=None,
    summary="List categories",
)
@paginate(Pagination)
def category_list(request: AuthedRequest):
    """Every category, by name, a page at a time.

    Anyone may call it (no token). Errors: 422 `validation_error` (a bad page or page size).
    """
    return selectors.category_list()


@categories.get(
    "/{category_id}/",
    response={200: CategoryOut, **errors(404, 422)},
    auth=None,
    summary="Get a category",
)
def category_detail(request: AuthedRequest, category_id: int):
    """One category by id.

    Anyone may call it (no token). Errors: 404 `category_not_found`, 422 `validation_error`.
    """
    return selectors.category_get(pk=category_id)


@categories.post(
    "/",
    response={201: CategoryOut, **errors(400, 401, 403, 409, 422)},
    auth=jwt_auth,
    summary="Create a category",
)
def category_create(request: AuthedRequest, payload: CategoryIn):
    """A new category; without `slug`, one is made from the name (unique).

    Staff only. Errors: 400 `bad_request`, 401 `not_authenticated`, `token_invalid` or
    `token_revoked`, 403 `staff_only`, 409 `category_exists` or `slug_taken`, 422
    `validation_error`.
    """
    require_staff(request.auth)
    return Status(201, services.category_create(name=payload.name, slug=payload.slug))


@categories.put(
    "/{category_id}/",
    response={200: CategoryOut, **errors(400, 401, 403, 404, 409, 422)},
    auth=jwt_auth,
    summary="Replace a category",
)
def category_replace(request: AuthedRequest, category_id: int, payload: CategoryIn):
    """Set a category's name (and slug, if given).

    Staff only. Errors: 400 `bad_request`, 401 `not_authenticated`, `token_invalid` or
    `token_revoked`, 403 `staff_only`, 404 `category_not_found`, 409 `category_exists` or
    `slug_taken`, 422 `validation_error`.
    """
    require_staff(request.auth)
    category = selectors.category_get(pk=category_id)
    return services.category_update(category=category, data=payload.dict())


@categories.patch(
    "/{category_id}/",
    response={200: CategoryOut, **errors(400, 401, 403, 404, 409, 422)},
    auth=jwt_auth,
    summary="Edit a category",
)
def category_patch(request: AuthedRequest, category_id: int, payload: CategoryPatch):
    """Change the fields given (name, slug); the others stay.

    Staff only. Errors: 400 `bad_request`, 401 `not_authenticated`, `token_invalid` or
    `token_revoked`, 403 `staff_only`, 404 `category_not_found`, 409 `category_exists` or
    `slug_taken`, 422 `validation_error`.
    """
    require_staff(request.auth)
    category = selectors.category_get(pk=category_id)
    return services.category_update(category=category, data=payload.dict(exclude_unset=True))


@categories.delete(
    "/{category_id}/",
    response={204: None, **errors(401, 403, 404, 409, 422)},
    auth=jwt_auth,
    summary="Delete a category",
)
def category_delete(request: AuthedRequest, category_id: int):
    """Delete an empty category; one that still has products is refused.

    Staff only. Errors: 401 `not_authenticated`, `token_invalid` or `token_revoked`, 403
    `staff_only`, 404 `category_not_found`, 409 `category_in_use`, 422 `validation_error`.
    """
    require_staff(request.auth)
    services.category_delete(category=selectors.category_get(pk=category_id))
    return Status(204, None)


@products.get(
    "/",
    response={200: list[ProductOut], **errors(401, 422)},
    auth=optional_jwt_auth,
    openapi_extra=OPTIONAL_AUTH,
    summary="List products",
)
@paginate(Pagination)
def product_list(request: AuthedRequest, filters: Query[ProductFilters]):
    """Active products, filtered (category, price range, in stock, a search in name and
    description) and ordered, a page at a time.

    Anyone may call it; a token is optional, and staff then see inactive products too. A token
    that is sent must be valid. Errors: 401 `not_authenticated`, `token_invalid` or
    `token_revoked`, 422 `validation_error`.
    """
    return selectors.product_list(
        user=request.auth,
        category=filters.category,
        min_price=filters.min_price,
        max_price=filters.max_price,
        in_stock=filters.in_stock,
        search=filters.search,
        ordering=filters.ordering.value,
    )


IF_MATCH = Header(
    default=None,
    alias="If-Match",
    max_length=1000,
    description="The product's ETag as read: the edit is refused with 412 if it changed since.",
)


def _with_etag(response: HttpResponse, product: Product) -> Product:
    response["ETag"] = version_etag(product.version)
    return product


@products.get(
    "/{product_id}/",
    response={200: ProductOut, **errors(401, 404, 422)},
    auth=optional_jwt_auth,
    openapi_extra={**OPTIONAL_AUTH, **response_headers({"ETag": ETAG_HEADER}, 200)},
    summary="Get a product",
)
def product_detail(request: AuthedRequest, response: HttpResponse, product_id: int):
    """One product by id, with its `ETag` (the product's version) for a later conditional edit.

    Anyone may call it; a token is optional (staff also see inactive products). Errors: 401
    `not_authenticated`, `token_invalid` or `token_revoked`, 404 `product_not_found`, 422
    `validation_error`.
    """
    return _with_etag(response, selectors.product_get(user=request.auth, pk=product_id))


@products.post(
    "/",
    response={201: ProductOut, **errors(400, 401, 403, 409, 422)},
    auth=jwt_auth,
    openapi_extra=response_headers({"ETag": ETAG_HEADER}, 201),
    summary="Create a product",
)
def product_create(request: AuthedRequest, response: HttpResponse, payload: ProductIn):
    """A new product with its opening stock (the first movement of its stock ledger); the slug
    is made from the name. Answers with the product's `ETag`.

    Staff only. Errors: 400 `bad_request` or `unknown_category`, 401 `not_authenticated`,
    `token_invalid` or `token_revoked`, 403 `staff_only`, 409 `slug_taken` or
    `deleted_meanwhile` (its category was deleted meanwhile), 422 `validation_error`.
    """
    require_staff(request.auth)
    product = services.product_create(**payload.dict(), by=request.auth)
    return Status(201, _with_etag(response, product))


@products.put(
    "/{product_id}/",
    response={200: ProductOut, **errors(400, 401, 403, 404, 409, 412, 422)},
    auth=jwt_auth,
    openapi_extra=response_headers({"ETag": ETAG_HEADER}, 200),
    summary="Replace a product",
)
def product_replace(
    request: AuthedRequest,
    response: HttpResponse,
    product_id: int,
    payload: ProductReplace,
    if_match: str | None = IF_MATCH,
):
    """Set every editable field (stock is not one: see the stock endpoint). With `If-Match`
    (the ETag as read) the edit is refused if the product changed since. Answers with the new
    `ETag`.

    Staff only. Errors: 400 `bad_request` or `unknown_category`, 401 `not_authenticated`,
    `token_invalid` or `token_revoked`, 403 `staff_only`, 404 `product_not_found`, 409
    `slug_taken` or `deleted_meanwhile`, 412 `version_mismatch`, 422 `validation_error`.
    """
    require_staff(request.auth)
    product = services.product_update(
        product=selectors.product_get(user=request.auth, pk=product_id),
        data=payload.dict(),
        if_versions=if_match_versions(if_match),
    )
    return _with_etag(response, product)


@products.patch(
    "/{product_id}/",
    response={200: ProductOut, **errors(400, 401, 403, 404, 409, 412, 422)},
    auth=jwt_auth,
    openapi_extra=response_headers({"ETag": ETAG_HEADER}, 200),
    summary="Edit a product",
)
def product_patch(
    request: AuthedRequest,
    response: HttpResponse,
    product_id: int,
    payload: ProductPatch,
    if_match: str | None = IF_MATCH,
):
    """Change the fields given (stock is not one: see the stock endpoint). With `If-Match` (the
    ETag as read) the edit is refused if the product changed since. Answers with the new `ETag`.

    Staff only. Errors: 400 `bad_request` or `unknown_category`, 401 `not_authenticated`,
    `token_invalid` or `token_revoked`, 403 `staff_only`, 404 `product_not_found`, 409
    `slug_taken` or `deleted_meanwhile`, 412 `version_mismatch`, 422 `validation_error`.
    """
    require_staff(request.auth)
    product = services.product_update(
        product=selectors.product_get(user=request.auth, pk=product_id),
        data=payload.dict(exclude_unset=True),
        if_versions=if_match_versions(if_match),
    )
    return _with_etag(response, product)


@products.delete(
    "/{product_id}/",
    response={204: None, **errors(401, 403, 404, 409, 422)},
    auth=jwt_auth,
    summary="Delete a product",
)
def product_delete(request: AuthedRequest, product_id: int):
    """Delete a product no order refers to; one in an order is refused (deactivate it instead).

    Staff only. Errors: 401 `not_authenticated`, `token_invalid` or `token_revoked`, 403
    `staff_only`, 404 `product_not_found`, 409 `product_in_use`, 422 `validation_error`.
    """
    require_staff(request.auth)
    services.product_delete(product=selectors.product_get(user=request.auth, pk=product_id))
    return Status(204, None)


@products.post(
    "/{product_id}/stock/",
    response={201: StockMovementOut, **errors(400, 401, 403, 404, 409, 422)},
    auth=jwt_auth,
    summary="Adjust or count a product's stock",
)
def product_stock_change(request: AuthedRequest, product_id: int, payload: StockChangeIn):
    """Change a product's stock explicitly and record it on the product's stock ledger.

    Staff only. `{"delta": n, "reason": "..."}` receives goods (n > 0) or writes stock off
    (n < 0); `{"set": n, "reason": "..."}` records a stock count. Applied atomically under the
    product's row lock, so it composes with concurrent sales. Answers 201 with the movement
    written (`stock_after` is the new stock). Errors: 400 `bad_request`, 401 `not_authenticated`,
    `token_invalid` or `token_revoked`, 403 `staff_only`, 404 `product_not_found`, 409
    `stock_below_zero` or `stock_above_limit` (nothing changed), 422 `validation_error`.
    """
    require_staff(request.auth)
    if payload.delta is not None:
        movement = stock.stock_adjust(
            product_id=product_id, delta=payload.delta, reason=payload.reason, by=request.auth
        )
    else:
        assert payload.set is not None  # the schema requires exactly one of the two
        movement = stock.stock_count(
            product_id=product_id, quantity=payload.set, reason=payload.reason, by=request.auth
        )
    return Status(201, movement)


@products.get(
    "/{product_id}/stock/movements/",
    response={200: list[StockMovementOut], **errors(401, 403, 404, 422)},
    auth=jwt_auth,
    summary="List a product's stock movements",
)
@paginate(Pagination)
def product_stock_movements(request: AuthedRequest, product_id: int):
    """The product's stock ledger, newest first: sales, cancellation returns, adjustments and
    counts, each with the stock it left. Their deltas add up to the current stock.

    Staff only. Errors: 401 `not_authenticated`, `token_invalid` or `token_revoked`, 403
    `staff_only`, 404 `product_not_found`, 422 `validation_error`.
    """
    require_staff(request.auth)
    return selectors.stock_movement_list(product_id=product_id)
