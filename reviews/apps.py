from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    """Review requests, the customer review page, moderation, replies, NPS and surveys."""

    name = "reviews"
    verbose_name = "Reviews"

    def ready(self) -> None:
        # journeys never imports reviews: reviews hands it its triggers, template links and listeners here.
        from merchant import order_listeners, shop_listeners
        from reviews.selectors.voice import review_voice_register
        from reviews.services.policy import review_setup_for_shop
        from reviews.services.referrals import referral_order_event_handle
        from reviews.services.requests import review_order_event_handle
        from reviews.triggers import review_triggers_register

        review_triggers_register()
        order_listeners.register_in_transaction(review_order_event_handle)
        # Orders that arrive with a referral code among their discount codes.
        order_listeners.register_in_transaction(referral_order_event_handle)
        shop_listeners.register_on_created(review_setup_for_shop)
        # The dashboard's voice of the customer: 1-2 star reviews, detractors, the NPS trend and the ratings.
        review_voice_register()
