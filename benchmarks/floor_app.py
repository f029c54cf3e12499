"""The floor of the dashboard's first chart: a Streamlit page with one small Plotly chart and
nothing else, served and opened the way benchmarks/dashboard.py opens the dashboard."""

import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="floor", layout="wide")
st.title("One chart")
st.plotly_chart(go.Figure(go.Scatter(x=list(range(30)), y=[i % 7 for i in range(30)])))
