app_name = "army"
urlpatterns: list = []

# Missions live in their own module (another area of the app than profiles and teams).
from essaim.army.mission_urls import urlpatterns as mission_urlpatterns  # noqa: E402

urlpatterns += mission_urlpatterns
