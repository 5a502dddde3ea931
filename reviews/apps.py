from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    """Review requests, the customer review page, moderation, replies, NPS and surveys."""

    name = "reviews"
    verbose_name = "Reviews"

    def ready(self) -> None:
        # journeys never imports reviews: reviews hands it its triggers, template links and listeners here.
        from journeys.status.actions import status_action_register
        from merchant import demo, order_listeners, shop_listeners
        from reviews.demo import reviews_demo_seed
        from reviews.journey_stages import review_journey_stages_register
        from reviews.links import review_status_action
        from reviews.outcomes import review_outcomes_register
        from reviews.selectors.voice import review_voice_register
        from reviews.services.policy import review_setup_for_shop
        from reviews.services.referrals import referral_order_event_handle
        from reviews.services.requests import review_order_event_handle
        from reviews.triggers import review_triggers_register

        review_triggers_register()
        review_journey_stages_register()
        review_outcomes_register()
        order_listeners.register_in_transaction(review_order_event_handle)
        # Orders that arrive with a referral code among their discount codes.
        order_listeners.register_in_transaction(referral_order_event_handle)
        shop_listeners.register_on_created(review_setup_for_shop)
        demo.register_demo_step(reviews_demo_seed)
        # "Write a review" on the order status page, once the order is delivered.
        status_action_register(review_status_action())
        # The dashboard's voice of the customer: 1-2 star reviews, detractors, the NPS trend and the ratings.
        review_voice_register()
