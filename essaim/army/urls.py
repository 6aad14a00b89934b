app_name = "army"
urlpatterns: list = []
