from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from essaim.accounts.services.dashboard import panels_for


# The home page shows every pillar's figures: it belongs above the pillars. Each app fills its
# panels (accounts/services/dashboard.py) and decides who sees them; this only lays them out.
@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "project/home.html", {"panels": panels_for(request.user)})
