"""The only write path of reviews: policy, requests, what customers send, moderation, what needs a person."""
