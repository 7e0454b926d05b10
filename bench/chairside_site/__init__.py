"""The settings and URLconf overlay ``bench/chairside.py`` serves the app with: the project's
own settings and URLs, plus one bare view as the framework's ceiling. Never used by the app."""
